// Registration of the collective ops (MpiAllreduceAsync, MpiAllreduceWait, MpiBroadcast,
// MpiAllgather) into the op registry; the builders are declared in distributed.h.
#pragma once

namespace sluice::distributed {

// Idempotent; the library also calls it when it loads.
void register_collective_ops();

}  // namespace sluice::distributed
