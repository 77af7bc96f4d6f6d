// recurrent layers (issue 3).
#pragma once

#include "layers.h"

namespace sluice::layers {}  // namespace sluice::layers
