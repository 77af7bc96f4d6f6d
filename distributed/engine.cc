#include "engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::distributed::detail {

namespace {

// ---- wire format: little-endian PODs and length-prefixed strings ----

class Writer {
 public:
  template <class T>
  void pod(T v) {
    s_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str(const std::string& v) {
    pod<uint32_t>(static_cast<uint32_t>(v.size()));
    s_ += v;
  }
  void request(const Request& r) {
    str(r.name);
    pod<uint8_t>(static_cast<uint8_t>(r.kind));
    pod<uint8_t>(static_cast<uint8_t>(r.op));
    pod<uint8_t>(static_cast<uint8_t>(r.dtype));
    pod<int32_t>(r.root);
    pod<uint32_t>(static_cast<uint32_t>(r.shape.size()));
    for (int64_t d : r.shape) pod<int64_t>(d);
  }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

// Reads what Writer wrote; a short or corrupt message (a peer of another Sluice version)
// is an error, never an out-of-bounds read.
class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  template <class T>
  T pod() {
    SLUICE_REQUIRE(pos_ + sizeof(T) <= s_.size(), DataLoss,
                   "distributed: truncated negotiation message (ranks run different builds?)");
    T v;
    std::memcpy(&v, s_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const uint32_t n = pod<uint32_t>();
    SLUICE_REQUIRE(n <= s_.size() - pos_, DataLoss, "distributed: truncated negotiation message");
    std::string v = s_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  Request request() {
    Request r;
    r.name = str();
    r.kind = static_cast<Kind>(pod<uint8_t>());
    r.op = static_cast<ReduceOp>(pod<uint8_t>());
    const uint8_t dt = pod<uint8_t>();
    SLUICE_REQUIRE(is_valid_dtype(dt), DataLoss, "distributed: bad dtype in negotiation message");
    r.dtype = static_cast<DType>(dt);
    r.root = pod<int32_t>();
    const uint32_t rank = pod<uint32_t>();
    SLUICE_REQUIRE(rank <= 64, DataLoss, "distributed: bad rank in negotiation message");
    for (uint32_t i = 0; i < rank; ++i) r.shape.push_back(pod<int64_t>());
    return r;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string json_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    r += c;
  }
  return r;
}

double env_double(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  SLUICE_REQUIRE(end && *end == '\0' && std::isfinite(d) && d >= 0, InvalidArgument,
                 "environment variable ", name, "='", v, "' is not a non-negative number");
  return d;
}

Engine* g_engine = nullptr;
std::mutex g_engine_mu;

}  // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::allreduce: return "allreduce";
    case Kind::broadcast: return "broadcast";
    case Kind::allgather: return "allgather";
  }
  return "?";
}

std::string Request::describe() const {
  std::string s = kind_name(kind);
  if (kind == Kind::allreduce) s += op == ReduceOp::sum ? "(sum)" : "(average)";
  if (kind == Kind::broadcast) s += "(root " + std::to_string(root) + ")";
  return s + " " + dtype_name(dtype) + shape_text(shape);
}

// ---- lifetime ----

Engine& Engine::instance(const Options* options) {
  std::lock_guard<std::mutex> lock(g_engine_mu);
  if (!g_engine) {
    Options o = options ? *options : Options{};
    o.fusion_threshold_bytes = static_cast<int64_t>(
        env_double("SLUICE_FUSION_THRESHOLD", static_cast<double>(o.fusion_threshold_bytes)));
    o.cycle_time_ms = env_double("SLUICE_CYCLE_TIME_MS", o.cycle_time_ms);
    o.timeout_seconds = env_double("SLUICE_MPI_TIMEOUT", o.timeout_seconds);
    o.mismatch_seconds = env_double("SLUICE_MISMATCH_SECONDS", o.mismatch_seconds);
    if (const char* t = std::getenv("SLUICE_TIMELINE")) o.timeline_path = t;
    SLUICE_REQUIRE(o.timeout_seconds > 0 && o.fusion_threshold_bytes >= 0, InvalidArgument,
                   "distributed::Options: timeout_seconds must be > 0 and "
                   "fusion_threshold_bytes >= 0");
    // Leaked on purpose: collectives may still be referenced from static destructors.
    g_engine = new Engine(o);
    std::atexit([] { g_engine->shutdown(); });
  }
  return *g_engine;
}

bool Engine::started() {
  std::lock_guard<std::mutex> lock(g_engine_mu);
  return g_engine != nullptr;
}

Engine::Engine(const Options& options) : options_(options), start_(Clock::now()) {
  thread_ = std::thread([this] { loop(); });
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return ready_; });
}

void Engine::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ && !thread_.joinable()) return;
    stop_requested_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

double Engine::now_us() const {
  return std::chrono::duration<double, std::micro>(Clock::now() - start_).count();
}

void Engine::record(TimelineEvent event) {
  // Rank 0 keeps the timeline (as Horovod); bounded so a long run cannot grow it forever.
  if (options_.timeline_path.empty() || rank_ != 0) return;
  std::lock_guard<std::mutex> lock(timeline_mu_);
  if (timeline_.size() < 2000000) timeline_.push_back(std::move(event));
}

// ---- graph threads ----

void Engine::submit(Request request, const Tensor& input) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.empty()) {
    if (failure_invalid_) throw InvalidArgument(failure_);
    throw FailedPrecondition(failure_);
  }
  SLUICE_REQUIRE(!stopped_ && !stop_requested_, FailedPrecondition, "distributed: collective '",
                 request.name, "' submitted after distributed::shutdown()");
  auto it = entries_.find(request.name);
  // A finished entry nobody waited for (its run failed in between) is dropped.
  SLUICE_REQUIRE(it == entries_.end() || it->second->done, InvalidArgument,
                 "distributed: collective '", request.name,
                 "' is already in flight: runs that share collectives must not overlap");
  auto e = std::make_shared<Entry>();
  e->request = request;
  e->input = input;
  e->enqueued_us = now_us();
  record({"ready " + request.name, 'i', 1, e->enqueued_us, 0,
          "\"tensor\": \"" + json_escape(request.name) + "\""});
  entries_[request.name] = e;
  outbox_.push_back(std::move(request));
}

void Engine::submit_passthrough(const std::string& name, const Tensor& input) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = std::make_shared<Entry>();
  e->request.name = name;
  e->output = input;
  e->done = true;
  entries_[name] = e;
}

Tensor Engine::wait(const std::string& name, std::vector<int64_t>* first_dims) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  SLUICE_REQUIRE(it != entries_.end(), Internal, "distributed: no collective '", name,
                 "' was submitted");
  std::shared_ptr<Entry> e = it->second;
  const double t0 = now_us();
  if (!e->done && failure_.empty()) {
    ++waiters_;
    wait_started_us_ = waiters_ == 1 ? t0 : wait_started_us_;
    cv_.notify_all();  // the loop negotiates at once if this request is still unsent
    cv_.wait(lock, [&] { return e->done || !failure_.empty(); });
    --waiters_;
    const double t1 = now_us();
    stats_.wait_seconds += (t1 - t0) * 1e-6;
    wait_spans_.emplace_back(t0, t1);
    record({"wait " + name, 'X', 1, t0, t1 - t0, "\"tensor\": \"" + json_escape(name) + "\""});
  }
  if (!e->done) {
    entries_.erase(name);
    const std::string msg = failure_ + " (this rank was waiting for " + e->request.describe() +
                            " '" + name + "')";
    if (failure_invalid_) throw InvalidArgument(msg);
    throw FailedPrecondition(msg);
  }
  entries_.erase(name);
  if (first_dims) *first_dims = e->first_dims;
  return e->output;
}

void Engine::fail(const std::string& message, bool invalid_argument) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_.empty()) {
      failure_ = "distributed (rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                 "): " + message;
      failure_invalid_ = invalid_argument;
    }
  }
  cv_.notify_all();
}

// ---- the background loop ----

void Engine::loop() {
  try {
    transport_ = make_mpi_transport();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "distributed: MPI initialisation failed (%s); running as a single process\n",
                 e.what());
  }
  if (!transport_) transport_ = make_local_transport();
  {
    std::lock_guard<std::mutex> lock(mu_);
    rank_ = transport_->rank();
    size_ = transport_->size();
    local_rank_ = transport_->local_rank();
    local_size_ = transport_->local_size();
    description_ = transport_->description();
    ready_ = true;
  }
  cv_.notify_all();

  const auto cycle = std::chrono::duration<double, std::milli>(options_.cycle_time_ms);
  const auto timeout = std::chrono::duration<double>(options_.timeout_seconds);
  bool transport_ok = true;
  std::string shutdown_ranks;
  for (;;) {
    const auto cycle_start = Clock::now();
    Message msg;
    {
      std::lock_guard<std::mutex> lock(mu_);
      msg.requests = std::move(outbox_);
      outbox_.clear();
      msg.shutdown = stop_requested_;
      msg.waiting = waiters_ > 0;
    }
    Writer w;
    w.pod<uint8_t>(msg.shutdown);
    w.pod<uint8_t>(msg.waiting);
    w.pod<uint32_t>(static_cast<uint32_t>(msg.requests.size()));
    for (const Request& r : msg.requests) w.request(r);
    Decision decision;
    try {
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
      const double t0 = now_us();
      const std::vector<std::string> all = transport_->gather_to_root(w.take(), deadline);
      std::string response;
      if (rank_ == 0) {
        decision = coordinate(all);
        Writer rw;
        rw.pod<uint8_t>(decision.shutdown);
        rw.str(decision.shutdown_ranks);
        rw.str(decision.error);
        rw.pod<uint32_t>(static_cast<uint32_t>(decision.responses.size()));
        for (const Response& r : decision.responses) {
          rw.pod<uint8_t>(static_cast<uint8_t>(r.kind));
          rw.pod<uint32_t>(static_cast<uint32_t>(r.names.size()));
          for (const std::string& n : r.names) rw.str(n);
          rw.pod<uint32_t>(static_cast<uint32_t>(r.first_dims.size()));
          for (int64_t d : r.first_dims) rw.pod<int64_t>(d);
        }
        response = rw.take();
      }
      transport_->broadcast_from_root(response, deadline);
      if (rank_ != 0) {
        Reader rr(response);
        decision.shutdown = rr.pod<uint8_t>() != 0;
        decision.shutdown_ranks = rr.str();
        decision.error = rr.str();
        const uint32_t n = rr.pod<uint32_t>();
        for (uint32_t i = 0; i < n; ++i) {
          Response r;
          r.kind = static_cast<Kind>(rr.pod<uint8_t>());
          const uint32_t names = rr.pod<uint32_t>();
          for (uint32_t j = 0; j < names; ++j) r.names.push_back(rr.str());
          const uint32_t dims = rr.pod<uint32_t>();
          for (uint32_t j = 0; j < dims; ++j) r.first_dims.push_back(rr.pod<int64_t>());
          decision.responses.push_back(std::move(r));
        }
      }
      if (!decision.responses.empty() || !msg.requests.empty())
        record({"negotiate", 'X', 3, t0, now_us() - t0,
                "\"submitted\": " + std::to_string(msg.requests.size()) +
                    ", \"transfers\": " + std::to_string(decision.responses.size())});
      for (const Response& r : decision.responses) execute(r);
    } catch (const TransportTimeout& e) {
      fail(e.what(), false);
      transport_ok = false;
      break;
    } catch (const Error& e) {
      fail(e.what(), e.code() == ErrorCode::invalid_argument);
    }
    if (!decision.error.empty()) fail(decision.error, true);
    if (decision.shutdown) {
      shutdown_ranks = decision.shutdown_ranks;
      break;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, cycle_start + std::chrono::duration_cast<Clock::duration>(cycle),
                   // A graph thread blocked on unsent requests gains nothing from waiting
                   // for more to fuse: negotiate now.
                   [this] { return stop_requested_ || (waiters_ > 0 && !outbox_.empty()); });
  }
  if (transport_ok) {
    try {
      transport_->finalize();
    } catch (const std::exception&) {
    }
  }
  write_timeline();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  fail("the job is shut down: rank " + shutdown_ranks +
           " called distributed::shutdown() or ended its program",
       false);
}

Engine::Decision Engine::coordinate(const std::vector<std::string>& messages) {
  Decision d;
  std::vector<bool> waiting(static_cast<size_t>(size_), false);
  std::vector<std::string> ready;
  std::string shutdown_ranks;
  for (int r = 0; r < static_cast<int>(messages.size()); ++r) {
    Reader rd(messages[r]);
    const bool shutdown = rd.pod<uint8_t>() != 0;
    waiting[r] = rd.pod<uint8_t>() != 0;
    if (shutdown) shutdown_ranks += (shutdown_ranks.empty() ? "" : ", ") + std::to_string(r);
    const uint32_t n = rd.pod<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) {
      Request q = rd.request();
      auto it = table_.find(q.name);
      if (it == table_.end()) {
        Pending p;
        p.first = q;
        p.first_rank = r;
        p.have.assign(static_cast<size_t>(size_), false);
        p.first_dims.assign(static_cast<size_t>(size_), 0);
        it = table_.emplace(q.name, std::move(p)).first;
        arrival_.push_back(q.name);
      }
      Pending& p = it->second;
      const Request& f = p.first;
      bool same = f.kind == q.kind && f.dtype == q.dtype && f.op == q.op && f.root == q.root &&
                  f.shape.size() == q.shape.size();
      for (size_t k = f.kind == Kind::allgather ? 1 : 0; same && k < f.shape.size(); ++k)
        same = f.shape[k] == q.shape[k];
      if (!same && d.error.empty()) {
        // Lower rank first, whichever arrived first.
        const bool first_lower = p.first_rank < r;
        d.error = "ranks disagree about collective '" + q.name + "': rank " +
                  std::to_string(first_lower ? p.first_rank : r) + " submitted " +
                  (first_lower ? f : q).describe() + ", rank " +
                  std::to_string(first_lower ? r : p.first_rank) + " submitted " +
                  (first_lower ? q : f).describe();
      }
      if (!p.have[r]) {
        p.have[r] = true;
        p.first_dims[r] = q.shape.empty() ? 0 : q.shape[0];
        if (++p.count == size_) ready.push_back(q.name);
      }
    }
  }
  if (!d.error.empty()) return d;

  // Ready collectives in the order rank 0 first heard of them; allreduces of one dtype and
  // op packed together up to the fusion threshold.
  std::vector<std::string> ordered;
  for (const std::string& n : arrival_)
    if (std::find(ready.begin(), ready.end(), n) != ready.end()) ordered.push_back(n);
  std::map<std::pair<int, int>, std::pair<size_t, int64_t>> open;  // (dtype, op) -> (response, bytes)
  for (const std::string& n : ordered) {
    const Pending& p = table_.at(n);
    const Request& q = p.first;
    const int64_t bytes = element_count(q.shape) * static_cast<int64_t>(dtype_size(q.dtype));
    if (q.kind == Kind::allreduce && options_.fusion_threshold_bytes > 0) {
      const auto key = std::make_pair(static_cast<int>(q.dtype), static_cast<int>(q.op));
      auto it = open.find(key);
      if (it != open.end() && it->second.second + bytes <= options_.fusion_threshold_bytes) {
        d.responses[it->second.first].names.push_back(n);
        it->second.second += bytes;
        continue;
      }
      open[key] = {d.responses.size(), bytes};
    }
    Response r;
    r.kind = q.kind;
    r.names.push_back(n);
    if (q.kind == Kind::allgather) r.first_dims = p.first_dims;
    d.responses.push_back(std::move(r));
  }
  for (const std::string& n : ordered) table_.erase(n);
  arrival_.erase(std::remove_if(arrival_.begin(), arrival_.end(),
                                [&](const std::string& n) { return !table_.count(n); }),
                 arrival_.end());

  if (!shutdown_ranks.empty()) {
    d.shutdown = true;
    d.shutdown_ranks = shutdown_ranks;
    return d;
  }
  // Every rank blocked and nothing can ever match: the graphs name their collectives
  // differently. Name the first collective some rank waits for that another never sent.
  const bool all_waiting = std::all_of(waiting.begin(), waiting.end(), [](bool b) { return b; });
  if (d.responses.empty() && !table_.empty() && all_waiting) {
    if (stuck_since_us_ < 0) stuck_since_us_ = now_us();
    if (now_us() - stuck_since_us_ > options_.mismatch_seconds * 1e6) {
      const Pending& p = table_.at(arrival_.front());
      std::string have, missing, instead;
      for (int r = 0; r < size_; ++r) {
        std::string& list = p.have[r] ? have : missing;
        list += (list.empty() ? "" : ", ") + std::to_string(r);
        if (p.have[r] || !instead.empty()) continue;
        for (const std::string& n : arrival_) {
          if (!table_.at(n).have[r]) continue;
          instead = "; rank " + std::to_string(r) + " waits for '" + n + "' (" +
                    table_.at(n).first.describe() + ") instead";
          break;
        }
      }
      d.error = "the ranks' graphs disagree: collective '" + arrival_.front() + "' (" +
                p.first.describe() + ") was submitted by rank " + have + " but never by rank " +
                missing + instead;
    }
  } else {
    stuck_since_us_ = -1;
  }
  return d;
}

void Engine::execute(const Response& response) {
  std::vector<std::shared_ptr<Entry>> es;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& n : response.names) {
      auto it = entries_.find(n);
      SLUICE_REQUIRE(it != entries_.end(), Internal, "distributed: the coordinator scheduled '",
                     n, "', which this rank never submitted");
      es.push_back(it->second);
    }
  }
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options_.timeout_seconds));
  const double t0 = now_us();
  int64_t bytes = 0;
  const Request& q0 = es[0]->request;
  if (response.kind == Kind::allreduce) {
    const size_t esize = dtype_size(q0.dtype);
    if (es.size() == 1) {
      Entry& e = *es[0];
      e.output = e.input.clone();
      bytes = static_cast<int64_t>(e.output.num_bytes());
      transport_->allreduce_sum(e.output.raw_data(), e.output.num_elements(), q0.dtype, deadline);
    } else {
      // Tensor fusion: pack, one allreduce, unpack.
      for (const auto& e : es) bytes += static_cast<int64_t>(e->input.num_bytes());
      if (fusion_buffer_.size() < static_cast<size_t>(bytes)) fusion_buffer_.resize(static_cast<size_t>(bytes));
      size_t off = 0;
      for (const auto& e : es) {
        std::memcpy(fusion_buffer_.data() + off, e->input.raw_data(), e->input.num_bytes());
        off += e->input.num_bytes();
      }
      transport_->allreduce_sum(fusion_buffer_.data(), bytes / static_cast<int64_t>(esize),
                                q0.dtype, deadline);
      off = 0;
      for (const auto& e : es) {
        e->output = Tensor(e->input.dtype(), e->input.shape());
        std::memcpy(e->output.raw_data(), fusion_buffer_.data() + off, e->output.num_bytes());
        off += e->output.num_bytes();
      }
    }
    if (q0.op == ReduceOp::average) {
      for (const auto& e : es) {
        Tensor& t = e->output;
        const int64_t n = t.num_elements();
        if (t.dtype() == DType::f32) {
          float* p = t.data<float>();
          const float s = 1.0f / static_cast<float>(size_);
          for (int64_t i = 0; i < n; ++i) p[i] *= s;
        } else if (t.dtype() == DType::f64) {
          double* p = t.data<double>();
          const double s = 1.0 / size_;
          for (int64_t i = 0; i < n; ++i) p[i] *= s;
        } else {
          t = t.cast(DType::f64);
          double* p = t.data<double>();
          for (int64_t i = 0; i < n; ++i) p[i] = std::trunc(p[i] / size_);
          t = t.cast(e->input.dtype());
        }
      }
    }
  } else if (response.kind == Kind::broadcast) {
    Entry& e = *es[0];
    bytes = static_cast<int64_t>(e.input.num_bytes());
    if (rank_ == q0.root) {
      e.output = e.input;
      transport_->broadcast(const_cast<void*>(e.input.raw_data()), bytes, q0.root, deadline);
    } else {
      e.output = Tensor(e.input.dtype(), e.input.shape());
      transport_->broadcast(e.output.raw_data(), bytes, q0.root, deadline);
    }
  } else {
    Entry& e = *es[0];
    std::vector<int64_t> shape = e.input.shape().dims();
    const int64_t row_bytes =
        (shape.empty() ? 1 : element_count(std::vector<int64_t>(shape.begin() + 1, shape.end()))) *
        static_cast<int64_t>(dtype_size(q0.dtype));
    std::vector<int64_t> counts;
    int64_t rows = 0;
    for (int64_t d : response.first_dims) {
      counts.push_back(d * row_bytes);
      rows += d;
    }
    shape[0] = rows;
    e.output = Tensor(q0.dtype, Shape(shape));
    e.first_dims = response.first_dims;
    bytes = static_cast<int64_t>(e.output.num_bytes());
    transport_->allgather(e.input.raw_data(), e.output.raw_data(), counts, deadline);
  }
  const double t1 = now_us();
  std::string names;
  for (size_t i = 0; i < es.size() && i < 64; ++i)
    names += (i ? ", \"" : "\"") + json_escape(es[i]->request.name) + "\"";
  record({std::string(kind_name(response.kind)) + (es.size() > 1 ? " (fused)" : ""), 'X', 2, t0,
          t1 - t0,
          "\"tensors\": " + std::to_string(es.size()) + ", \"bytes\": " + std::to_string(bytes) +
              ", \"names\": [" + names + "]"});
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.tensors += static_cast<int64_t>(es.size());
    stats_.fused_batches += 1;
    stats_.bytes += bytes;
    stats_.collective_seconds += (t1 - t0) * 1e-6;
    stats_.overlapped_seconds += ((t1 - t0) - overlap_with_waits(t0, t1)) * 1e-6;
    for (const auto& e : es) {
      e->done = true;
      e->input = Tensor();
    }
  }
  cv_.notify_all();
}

// Microseconds of [t0, t1] during which some graph thread was blocked waiting (mu_ held).
double Engine::overlap_with_waits(double t0, double t1) {
  std::vector<std::pair<double, double>> spans;
  for (const auto& s : wait_spans_)
    if (s.second > t0 && s.first < t1) spans.emplace_back(std::max(s.first, t0), std::min(s.second, t1));
  if (waiters_ > 0) spans.emplace_back(std::max(wait_started_us_, t0), t1);
  std::sort(spans.begin(), spans.end());
  double total = 0, end = t0;
  for (const auto& s : spans) {
    const double b = std::max(s.first, end);
    if (s.second > b) {
      total += s.second - b;
      end = s.second;
    }
  }
  // Waits that ended long ago can no longer meet a transfer.
  wait_spans_.erase(std::remove_if(wait_spans_.begin(), wait_spans_.end(),
                                   [&](const auto& s) { return s.second < t0 - 1e6; }),
                    wait_spans_.end());
  return std::min(total, t1 - t0);
}

Stats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Engine::reset_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = Stats{};
}

void Engine::write_timeline() const {
  if (options_.timeline_path.empty() || rank_ != 0) return;
  std::lock_guard<std::mutex> lock(timeline_mu_);
  std::ofstream out(options_.timeline_path, std::ios::trunc);
  if (!out) {
    std::fprintf(stderr, "distributed: cannot write the timeline '%s'\n", options_.timeline_path.c_str());
    return;
  }
  out << "{\"traceEvents\": [\n";
  const char* tracks[] = {"", "graph thread: gradients ready, waits", "engine: transfers (MPI)",
                          "engine: negotiation"};
  for (int t = 1; t <= 3; ++t)
    out << "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 0, \"tid\": " << t
        << ", \"args\": {\"name\": \"" << tracks[t] << "\"}},\n";
  char buf[64];
  for (size_t i = 0; i < timeline_.size(); ++i) {
    const TimelineEvent& e = timeline_[i];
    out << "{\"name\": \"" << json_escape(e.name) << "\", \"ph\": \"" << e.phase
        << "\", \"pid\": 0, \"tid\": " << e.track;
    std::snprintf(buf, sizeof(buf), ", \"ts\": %.1f", e.ts_us);
    out << buf;
    if (e.phase == 'X') {
      std::snprintf(buf, sizeof(buf), ", \"dur\": %.1f", e.dur_us);
      out << buf;
    } else {
      out << ", \"s\": \"t\"";
    }
    out << ", \"args\": {" << e.args << "}}" << (i + 1 < timeline_.size() ? ",\n" : "\n");
  }
  out << "]}\n";
}

}  // namespace sluice::distributed::detail
