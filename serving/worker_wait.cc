#include "worker_wait.h"

namespace sluice::serving {
namespace {
thread_local const WorkerWait::Hooks* t_hooks = nullptr;
}  // namespace

WorkerWait::WorkerWait() : hooks_(t_hooks) {
  if (hooks_) hooks_->begin(hooks_->owner);
}

WorkerWait::~WorkerWait() {
  if (hooks_) hooks_->end(hooks_->owner);
}

void WorkerWait::set_thread_hooks(const Hooks* hooks) { t_hooks = hooks; }

}  // namespace sluice::serving
