#include "normalization_layers.h"
