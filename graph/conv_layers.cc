#include "conv_layers.h"
