// A small HTTP/1.1 server on epoll, written for `sluice serve`: keep-alive, pipelining,
// Content-Length and chunked bodies, `Expect: 100-continue`, HEAD, limits on header and body
// size and on the time a request may take to arrive and its answer to leave, and a graceful
// stop. It knows nothing about models: every complete request goes to one handler.
//
// Threads: `threads` workers share one epoll set in which every connection is registered
// one-shot, so a connection is served by one worker at a time and a request is read, handled
// and answered on the worker that read it (no hand-off between threads). At most
// `max_running` workers (the core count) take requests at once, so they never preempt each
// other; the rest sleep. A handler that waits rather than computes (a request waiting for its
// batch) says so with a WorkerWait (worker_wait.h) and another worker takes its turn.
//
//   HttpLoop loop(options, handler, on_error, logger);
//   int port = loop.bind("127.0.0.1", 0);   // 0: any free port
//   loop.start();                            // the workers run until stop()
//   loop.stop();                             // stop accepting; answer what is in flight
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http_parse.h"

namespace sluice::serving {

struct HttpLoopOptions {
  int threads = 64;                   // workers (each serves one connection at a time)
  int max_running = 0;                // workers taking requests at once (outside WorkerWaits); 0: max(2, cores)
  HttpLimits limits;                  // header and body sizes (http_parse.h)
  int timeout_ms = 30000;             // a request must arrive in full (and its answer leave) within this: 408
  int idle_timeout_ms = 30000;        // keep-alive connections idle this long are closed
  size_t max_connections = 10000;     // connections beyond this are closed at once
};

class HttpLoop {
 public:
  // Answers one complete request. Exceptions become 500 answers.
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;
  // The answer to a request the loop rejects itself (malformed: 400; too large: 413/431; timed
  // out: 408; unsupported: 501/505/417), given the status and a message.
  using ErrorResponder = std::function<HttpResponse(int status, const std::string& message)>;
  // Called once per answer after it is handed to the socket; `started` is when the request
  // had arrived in full.
  using Logger = std::function<void(const HttpRequest&, const HttpResponse&, std::chrono::steady_clock::time_point started)>;

  HttpLoop(HttpLoopOptions options, Handler handler, ErrorResponder on_error, Logger logger);
  ~HttpLoop();  // stop()
  HttpLoop(const HttpLoop&) = delete;
  HttpLoop& operator=(const HttpLoop&) = delete;

  // Listens on host:port (port 0: any free one) and returns the port. Errors: InvalidArgument
  // (unknown host, port out of range or taken).
  int bind(const std::string& host, int port);
  // Starts the workers; returns at once. bind() first.
  void start();
  // Blocks until stop() has finished (from another thread or a signal handler's thread).
  void wait();
  // Stops accepting, closes idle connections, lets requests being read or handled finish and
  // get their answers (each with `Connection: close`), then ends the workers. Idempotent.
  void stop();
  bool running() const { return running_.load(); }

  // Connections open right now (for tests and the status page).
  size_t connections() const;

  struct Conn;  // one client connection (http_loop.cc)

 private:
  void work();
  void accept_all();
  void arm_listener(int epoll_op);  // EPOLL_CTL_ADD or EPOLL_CTL_MOD
  void serve(Conn* c, uint32_t events);
  bool read_available(Conn* c, bool* eof);
  // Answers every complete request in the connection's buffer, then waits for more (true) or
  // ends the connection (false). `eof`: the client has closed its side.
  bool answer_requests(Conn* c, bool eof);
  bool send_continue(Conn* c);
  // Sends one answer; true when the connection can go on to the next request at once.
  bool respond(Conn* c, const HttpRequest& req, const HttpResponse& res, bool close_after,
               std::chrono::steady_clock::time_point started, bool http10_keep_alive);
  bool flush(Conn* c);
  void rearm(Conn* c, uint32_t events);
  void linger(Conn* c);
  void close_conn(Conn* c);
  void sweep();
  void wait_begin();  // a worker entered a WorkerWait
  void wait_end();

  HttpLoopOptions options_;
  Handler handler_;
  ErrorResponder on_error_;
  Logger logger_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: readable once the workers are to end
  std::vector<std::thread> workers_;
  std::thread sweeper_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accept_paused_{false};  // out of file descriptors: the sweeper re-arms accepting

  mutable std::mutex conns_mutex_;
  std::condition_variable conns_cv_;    // signalled when a connection closes
  std::condition_variable sweeper_cv_;  // to stop the sweeper
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  bool sweeper_stop_ = false;

  std::mutex active_mutex_;
  std::condition_variable active_cv_;
  std::atomic<int> active_{0};  // workers taking requests (changed under active_mutex_)

  std::mutex stop_mutex_;  // one stop() at a time
  std::mutex wait_mutex_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
  bool exiting_ = false;  // active_mutex_: the workers are to end
};

}  // namespace sluice::serving
