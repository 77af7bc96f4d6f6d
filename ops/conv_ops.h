// conv ops (issue 3). Public builders go here, each with a shape comment.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {}  // namespace sluice::ops
