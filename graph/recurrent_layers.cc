#include "recurrent_layers.h"
