#include "http_loop.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sluice/sluice.h>

#include "worker_wait.h"

namespace sluice::serving {
namespace {

using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_THREAD__)
#define SLUICE_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLUICE_UNDER_TSAN 1
#endif
#endif
#ifndef SLUICE_UNDER_TSAN
#define SLUICE_UNDER_TSAN 0
#endif

enum ConnState : int {
  kIdle,       // between requests (keep-alive): idle_timeout_ms
  kReading,    // a request has begun to arrive: timeout_ms from its first byte
  kHandling,   // in the handler: no deadline
  kWriting,    // the answer waits for the socket to drain: timeout_ms
  kLingering,  // answered with Connection: close; input is discarded until the client closes
};

int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }
int64_t after_ms(int ms) { return now_ns() + static_cast<int64_t>(ms) * 1000000; }

// How long a closed-for-writing connection keeps reading, so an unread request body does not
// turn the answer into a reset.
constexpr int kLingerMs = 2000;
// Bytes read per wake-up before the request is looked at (the rest waits in the socket).
constexpr size_t kReadChunk = 65536, kMaxReadPerWake = 1u << 20;
// An idle connection keeps at most this much buffer capacity.
constexpr size_t kIdleBufferBytes = 65536;

std::string address_of(const sockaddr_storage& addr, int* port) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  }
  return buf;
}

}  // namespace

struct HttpLoop::Conn {
  int fd = -1;
  std::string remote_addr;
  int remote_port = 0;
  std::string in;   // received and not yet part of an answered request
  std::string out;  // answer bytes the socket has not taken yet
  size_t out_pos = 0;
  bool close_after_write = false;
  bool drain_on_close = false;                // answered an unread request: read its rest before closing
  RequestProgress progress;                   // the request being read
  std::atomic<int> state{kIdle};
  std::atomic<int64_t> deadline_ns{0};
  std::atomic<bool> expired{false};           // past its deadline, or idle while the loop stops
  // Passes the connection from the worker that re-arms it to the one that gets its next event.
  // epoll itself orders the two, but only this tells the C++ memory model (and TSan).
  std::atomic<uint32_t> handoff{0};
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
};

HttpLoop::HttpLoop(HttpLoopOptions options, Handler handler, ErrorResponder on_error, Logger logger)
    : options_(std::move(options)), handler_(std::move(handler)), on_error_(std::move(on_error)),
      logger_(std::move(logger)) {
  SLUICE_REQUIRE(options_.threads >= 1, InvalidArgument, "the number of HTTP threads must be >= 1, got ", options_.threads);
  SLUICE_REQUIRE(options_.timeout_ms >= 1 && options_.idle_timeout_ms >= 1, InvalidArgument,
                 "HTTP timeouts must be >= 1 ms, got ", options_.timeout_ms, " and ", options_.idle_timeout_ms);
  if (options_.max_running <= 0) options_.max_running = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  options_.max_running = std::min(options_.max_running, options_.threads);
}

HttpLoop::~HttpLoop() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

int HttpLoop::bind(const std::string& host, int port) {
  SLUICE_REQUIRE(listen_fd_ < 0, FailedPrecondition, "HttpLoop::bind: already bound");
  if (port < 0 || port > 65535) throw InvalidArgument("port must be in [0, 65535], got " + std::to_string(port));
  const std::string where = host + ":" + (port ? std::to_string(port) : std::string("(any port)"));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    throw InvalidArgument("cannot listen on " + where + ": unknown host");
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) throw InvalidArgument("cannot listen on " + where + " (address in use or not local?)");
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int bound_port = port;
  address_of(addr, &bound_port);
  listen_fd_ = fd;
  return bound_port;
}

void HttpLoop::start() {
  SLUICE_REQUIRE(listen_fd_ >= 0, FailedPrecondition, "HttpLoop::start: bind() first");
  SLUICE_REQUIRE(!running_.load() && !stopped_, FailedPrecondition, "HttpLoop::start: already started");
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw Internal(std::string("HTTP server: epoll/eventfd: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: once written, every worker sees it
  ev.data.ptr = &wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  arm_listener(EPOLL_CTL_ADD);
  running_ = true;
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { work(); });
  sweeper_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(conns_mutex_);
    while (!sweeper_stop_) {
      sweeper_cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (sweeper_stop_) break;
      lock.unlock();
      sweep();
      lock.lock();
    }
  });
}

void HttpLoop::wait() {
  std::unique_lock<std::mutex> lock(wait_mutex_);
  stopped_cv_.wait(lock, [this] { return stopped_ || !running_.load(); });
}

void HttpLoop::stop() {
  std::lock_guard<std::mutex> one_at_a_time(stop_mutex_);
  if (!running_.load()) return;
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);  // accept() fails from now on; new clients are refused
  sweep();                            // idle keep-alive connections close now
  {
    // Requests being read or handled finish (bounded by the request time limit).
    std::unique_lock<std::mutex> lock(conns_mutex_);
    conns_cv_.wait_for(lock, std::chrono::milliseconds(options_.timeout_ms) + std::chrono::seconds(1),
                       [this] { return conns_.empty(); });
    sweeper_stop_ = true;
  }
  sweeper_cv_.notify_all();
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(wake_fd_, &one, sizeof one);
  {
    std::lock_guard<std::mutex> lock(active_mutex_);
    exiting_ = true;
  }
  active_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (sweeper_.joinable()) sweeper_.join();
  {
    std::lock_guard<std::mutex> lock(conns_mutex_);
    conns_.clear();  // whatever outlived the time limit is closed
  }
  running_ = false;
  {
    std::lock_guard<std::mutex> lock(wait_mutex_);
    stopped_ = true;
  }
  stopped_cv_.notify_all();
}

size_t HttpLoop::connections() const {
  std::lock_guard<std::mutex> lock(conns_mutex_);
  return conns_.size();
}

void HttpLoop::wait_begin() {
  {
    std::lock_guard<std::mutex> lock(active_mutex_);
    --active_;
  }
  active_cv_.notify_one();
}

void HttpLoop::wait_end() {
  std::lock_guard<std::mutex> lock(active_mutex_);
  ++active_;
}

// At most max_running workers take requests; the others sleep until one of those waits in a
// WorkerWait. With more computing threads than cores, requests would stall for whole
// scheduler time slices whenever one is preempted (measured: the MLP's p99 at 8 connections
// went from 1.0 ms with 2 workers to 3-7 ms with 64 under the same load).
void HttpLoop::work() {
  const WorkerWait::Hooks hooks{[](void* loop) { static_cast<HttpLoop*>(loop)->wait_begin(); },
                                [](void* loop) { static_cast<HttpLoop*>(loop)->wait_end(); }, this};
  WorkerWait::set_thread_hooks(&hooks);
  bool counted = false;
  while (true) {
    if (!counted || active_.load(std::memory_order_relaxed) > options_.max_running) {
      std::unique_lock<std::mutex> lock(active_mutex_);
      if (counted) --active_;  // more are running than cores (after waits ended): step back
      active_cv_.wait(lock, [this] { return active_ < options_.max_running || exiting_; });
      if (exiting_) break;
      ++active_;
      counted = true;
    }
    epoll_event ev{};
    int n;
    do {
      n = ::epoll_wait(epoll_fd_, &ev, 1, -1);
    } while (n < 0 && errno == EINTR);
    if (n <= 0 || ev.data.ptr == &wake_fd_) break;
    if (ev.data.ptr == &listen_fd_) {
      accept_all();
    } else {
      Conn* c = static_cast<Conn*>(ev.data.ptr);
      c->handoff.load(std::memory_order_acquire);
      serve(c, ev.events);
    }
  }
  WorkerWait::set_thread_hooks(nullptr);
}

void HttpLoop::accept_all() {
  while (true) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        accept_paused_ = true;  // out of descriptors or memory: the sweeper tries again shortly
        return;
      }
      break;  // EAGAIN (all taken), or EINVAL once stop() has shut the socket
    }
    if (stopping_) {
      ::close(fd);
      continue;
    }
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    auto conn = std::make_unique<Conn>();
    Conn* c = conn.get();
    c->fd = fd;
    c->remote_addr = address_of(addr, &c->remote_port);
    c->deadline_ns = after_ms(options_.idle_timeout_ms);
    {
      std::lock_guard<std::mutex> lock(conns_mutex_);
      if (conns_.size() >= options_.max_connections) continue;  // `conn` closes the socket
      conns_.emplace(c, std::move(conn));
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    c->handoff.fetch_add(1, std::memory_order_release);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) close_conn(c);
  }
  if (!stopping_) arm_listener(EPOLL_CTL_MOD);
}

// The listening socket is one-shot too: the worker that accepts re-arms it when done.
void HttpLoop::arm_listener(int op) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.ptr = &listen_fd_;
  ::epoll_ctl(epoll_fd_, op, listen_fd_, &ev);
}

// The last thing done with a connection by the worker that has it: after this another worker
// may have it.
void HttpLoop::rearm(Conn* c, uint32_t events) {
  epoll_event ev{};
  ev.events = events | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.ptr = c;
  c->handoff.fetch_add(1, std::memory_order_release);
#if SLUICE_UNDER_TSAN
  // ThreadSanitizer counts epoll_ctl as a use of the socket and orders it before the next
  // epoll_wait only for EPOLL_CTL_ADD: re-add, so it sees the order the kernel gives.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) close_conn(c);
#else
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev) != 0) close_conn(c);
#endif
}

void HttpLoop::close_conn(Conn* c) {
  std::unique_ptr<Conn> doomed;
  {
    std::lock_guard<std::mutex> lock(conns_mutex_);
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    doomed = std::move(it->second);
    conns_.erase(it);
  }
  doomed.reset();  // closes the socket (which also leaves the epoll set)
  conns_cv_.notify_all();
}

void HttpLoop::serve(Conn* c, uint32_t events) {
  const int state = c->state.load();
  if (state == kWriting) {
    if ((events & (EPOLLERR | EPOLLHUP)) || c->expired) return close_conn(c);
    if (!flush(c)) return;
    if (c->close_after_write || stopping_) return linger(c);
    answer_requests(c, false);
    return;
  }
  if (state == kLingering) {
    char sink[4096];
    while (true) {
      const ssize_t n = ::recv(c->fd, sink, sizeof sink, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !c->expired) return rearm(c, EPOLLIN);
      return close_conn(c);
    }
  }
  bool eof = false;
  if (!read_available(c, &eof)) return close_conn(c);
  answer_requests(c, eof);
}

bool HttpLoop::read_available(Conn* c, bool* eof) {
  // Read into a per-worker buffer and append what came: a connection's own buffer holds only
  // its unanswered bytes, so thousands of idle keep-alive connections cost little memory.
  thread_local std::vector<char> scratch(kReadChunk);
  size_t got = 0;
  while (got < kMaxReadPerWake) {
    const ssize_t n = ::recv(c->fd, scratch.data(), scratch.size(), 0);
    if (n > 0) {
      c->in.append(scratch.data(), static_cast<size_t>(n));
      got += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < scratch.size()) return true;  // drained (more would raise the event again)
      continue;
    }
    if (n == 0) {
      *eof = true;
      return true;
    }
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

bool HttpLoop::answer_requests(Conn* c, bool eof) {
  while (true) {
    if (c->in.empty() && !c->progress.head_done) {
      if (eof || c->expired || stopping_) {
        close_conn(c);
        return false;
      }
      if (c->in.capacity() > kIdleBufferBytes) std::string().swap(c->in);
      if (c->out.capacity() > kIdleBufferBytes) std::string().swap(c->out);
      c->state = kIdle;
      c->deadline_ns = after_ms(options_.idle_timeout_ms);
      rearm(c, EPOLLIN);
      return true;
    }
    ParseError error;
    size_t used = 0;
    const ParseStatus status = parse_request(c->in, c->progress, options_.limits, &error, &used);
    if (status == ParseStatus::need_more) {
      if (eof && !c->expired) {  // the client went away in the middle of a request
        close_conn(c);
        return false;
      }
      if (!c->expired) {
        if (c->state.load() != kReading) {
          c->state = kReading;
          c->deadline_ns = after_ms(options_.timeout_ms);
        }
        if (!send_continue(c)) return false;
        rearm(c, EPOLLIN);
        return true;
      }
      error = {408, "The request did not arrive in full within " + std::to_string(options_.timeout_ms) + " ms"};
    }
    if (status != ParseStatus::complete) {
      c->drain_on_close = true;
      HttpResponse res = on_error_(error.status, error.message);
      respond(c, c->progress.request, res, true, Clock::now(), false);
      return false;
    }
    HttpRequest req = std::move(c->progress.request);
    const bool keep_alive = c->progress.keep_alive;
    c->in.erase(0, used);
    c->progress = RequestProgress{};
    c->state = kHandling;
    req.remote_addr = c->remote_addr;
    req.remote_port = c->remote_port;
    const auto started = Clock::now();
    HttpResponse res;
    try {
      handler_(req, res);
    } catch (const std::exception& e) {
      res = on_error_(500, std::string("Internal error: ") + e.what());
    } catch (...) {
      res = on_error_(500, "Internal error: unknown exception");
    }
    const bool close_after = !keep_alive || eof || stopping_ || c->expired;
    if (!respond(c, req, res, close_after, started, keep_alive && req.version == "HTTP/1.0")) return false;
  }
}

// "100 Continue" once the head of a request with `Expect: 100-continue` is in (false: the
// connection is gone).
bool HttpLoop::send_continue(Conn* c) {
  RequestProgress& p = c->progress;
  if (!p.head_done || !p.expect_continue || p.continue_sent) return true;
  p.continue_sent = true;
  static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
  constexpr auto kLen = static_cast<ssize_t>(sizeof kContinue - 1);
  if (::send(c->fd, kContinue, kLen, MSG_NOSIGNAL) == kLen) return true;
  close_conn(c);
  return false;
}

bool HttpLoop::respond(Conn* c, const HttpRequest& req, const HttpResponse& res, bool close_after,
                       Clock::time_point started, bool http10_keep_alive) {
  const std::string head = response_head(res, close_after, http10_keep_alive);
  const bool with_body = req.method != "HEAD";
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(res.body.data()), with_body ? res.body.size() : 0}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  ssize_t n;
  do {
    n = ::sendmsg(c->fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (logger_) logger_(req, res, started);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    close_conn(c);  // the client has gone
    return false;
  }
  const size_t written = static_cast<size_t>(std::max<ssize_t>(n, 0)), total = iov[0].iov_len + iov[1].iov_len;
  if (written < total) {
    c->out.clear();
    if (written < head.size()) c->out.append(head, written, std::string::npos);
    const size_t body_from = written > head.size() ? written - head.size() : 0;
    c->out.append(res.body.data() + body_from, iov[1].iov_len - body_from);
    c->out_pos = 0;
    c->close_after_write = close_after;
    c->state = kWriting;
    c->deadline_ns = after_ms(options_.timeout_ms);
    rearm(c, EPOLLOUT);
    return false;
  }
  if (close_after) {
    linger(c);
    return false;
  }
  return true;
}

bool HttpLoop::flush(Conn* c) {
  while (c->out_pos < c->out.size()) {
    const ssize_t n = ::send(c->fd, c->out.data() + c->out_pos, c->out.size() - c->out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_pos += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      rearm(c, EPOLLOUT);
      return false;
    } else {
      close_conn(c);
      return false;
    }
  }
  c->out.clear();
  c->out_pos = 0;
  return true;
}

// Ends a connection after its last answer. With input the server has not read (the rest of a
// refused request, or more the client sent), closing at once would send a reset, which can
// destroy the answer in flight: the sending side is closed and input is read and dropped until
// the client closes or kLingerMs pass.
void HttpLoop::linger(Conn* c) {
  if (!c->drain_on_close && c->in.empty()) {
    char byte;
    const ssize_t n = ::recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return close_conn(c);
  }
  ::shutdown(c->fd, SHUT_WR);
  c->in.clear();
  c->state = kLingering;
  c->deadline_ns = after_ms(kLingerMs);
  rearm(c, EPOLLIN);
}

// Ends connections past their deadline (and, once stopping, idle ones): shutting the socket
// down wakes the epoll set, and the worker that gets the event answers 408 or closes.
void HttpLoop::sweep() {
  const int64_t now = now_ns();
  {
    std::lock_guard<std::mutex> lock(conns_mutex_);
    for (auto& kv : conns_) {
      Conn* c = kv.first;
      const int state = c->state.load();
      if (state == kHandling) continue;
      const bool due = now >= c->deadline_ns.load() || (stopping_ && state == kIdle);
      if (due && !c->expired.exchange(true)) ::shutdown(c->fd, state == kWriting ? SHUT_RDWR : SHUT_RD);
    }
  }
  if (accept_paused_.exchange(false) && !stopping_) arm_listener(EPOLL_CTL_MOD);
}

}  // namespace sluice::serving
