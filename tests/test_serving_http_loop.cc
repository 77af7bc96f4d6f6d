// Sluice's HTTP/1.1 server (serving/http_parse.h, serving/http_loop.h): the request parser on
// exact bytes (every framing rule and error status), then the epoll server through raw TCP
// sockets on 127.0.0.1: pipelining, chunked uploads, 100-continue, HEAD, the time limits,
// 413 without a reset, connection limits, many clients at once and the graceful stop. The
// REST API on top of it is tested through a real HTTP client in test_serving_http.cc.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <poll.h>
#include <thread>

#define SLUICE_FUZZ_REPLAY
#include "fuzz/fuzz_http_request.cc"
#include "fuzz_replay.h"
#include "serving/http_loop.h"
#include "serving/worker_wait.h"

namespace sluice::serving {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  ParseStatus status;
  ParseError error;
  RequestProgress p;
  size_t used = 0;
};

Parsed parse(std::string bytes, HttpLimits limits = {}) {
  Parsed r;
  r.status = parse_request(bytes, r.p, limits, &r.error, &r.used);
  return r;
}

TEST(HttpParse, RequestLineFieldsAndBody) {
  Parsed r = parse("POST /v1/models/a%20b:predict?x=%41 HTTP/1.1\r\nHost: h\r\nX-Thing:  v 1 \t\r\n"
                   "Content-Length: 4\r\n\r\nbodyGET");
  ASSERT_EQ(r.status, ParseStatus::complete) << r.error.message;
  const HttpRequest& q = r.p.request;
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.target, "/v1/models/a%20b:predict?x=%41");
  EXPECT_EQ(q.path, "/v1/models/a b:predict");
  EXPECT_EQ(q.query, "x=%41");
  EXPECT_EQ(q.version, "HTTP/1.1");
  ASSERT_NE(q.header("x-thing"), nullptr);
  EXPECT_EQ(*q.header("x-thing"), "v 1");
  EXPECT_EQ(q.body, "body");
  EXPECT_EQ(r.used, std::string("POST /v1/models/a%20b:predict?x=%41 HTTP/1.1\r\nHost: h\r\nX-Thing:  v 1 \t\r\n"
                                "Content-Length: 4\r\n\r\nbody").size());
  EXPECT_TRUE(r.p.keep_alive);
}

TEST(HttpParse, KeepAliveRules) {
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\n\r\n").p.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nConnection: Keep-Alive, close\r\n\r\n").p.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").p.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").p.keep_alive);
}

TEST(HttpParse, NeedsMoreUntilTheBodyIsIn) {
  std::string in = "\r\nPOST / HTTP/1.1\r\nContent-Len";  // an empty line before a request is skipped
  RequestProgress p;
  ParseError e;
  size_t used = 0;
  EXPECT_EQ(parse_request(in, p, {}, &e, &used), ParseStatus::need_more);
  in += "gth: 3\r\n\r\nab";
  EXPECT_EQ(parse_request(in, p, {}, &e, &used), ParseStatus::need_more);
  in += "c";
  ASSERT_EQ(parse_request(in, p, {}, &e, &used), ParseStatus::complete);
  EXPECT_EQ(p.request.body, "abc");
  EXPECT_EQ(used, in.size());
}

TEST(HttpParse, ChunkedBodiesWithExtensionsAndTrailers) {
  Parsed r = parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n"
                   "E\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT");
  ASSERT_EQ(r.status, ParseStatus::complete) << r.error.message;
  EXPECT_EQ(r.p.request.body, "Wikipedia in\r\n\r\nchunks.");
  EXPECT_EQ(r.used, std::string("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n"
                                "E\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n").size());
  // Fed one byte at a time: the same body.
  const std::string all = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  std::string in;
  RequestProgress p;
  ParseError e;
  size_t used = 0;
  ParseStatus s = ParseStatus::need_more;
  for (char c : all) {
    ASSERT_EQ(s, ParseStatus::need_more);
    in += c;
    s = parse_request(in, p, {}, &e, &used);
  }
  ASSERT_EQ(s, ParseStatus::complete);
  EXPECT_EQ(p.request.body, "abcde");
}

TEST(HttpParse, EveryErrorHasItsStatusAndMessage) {
  HttpLimits small;
  small.max_body_bytes = 8;
  small.max_header_bytes = 64;
  small.max_header_fields = 2;
  struct Case {
    std::string bytes;
    int status;
    std::string message;
    HttpLimits limits;
  };
  const std::vector<Case> cases = {
      {"GET /\r\n\r\n", 400, "Malformed HTTP request line: 'GET /'", {}},
      {"G(T / HTTP/1.1\r\n\r\n", 400, "Malformed HTTP method: 'G(T'", {}},
      {"GET / HTTP/2.0\r\n\r\n", 505, "HTTP version not supported: HTTP/2.0", {}},
      {"GET / HTTX/1.1\r\n\r\n", 400, "Malformed HTTP version: 'HTTX/1.1'", {}},
      {"GET http://x/ HTTP/1.1\r\n\r\n", 400, "Malformed request target (not a path): 'http://x/'", {}},
      {"GET /a%2 HTTP/1.1\r\n\r\n", 400, "Malformed percent-encoding in the request path: '/a%2'", {}},
      {"GET /a%00 HTTP/1.1\r\n\r\n", 400, "Malformed percent-encoding in the request path: '/a%00'", {}},
      {"GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", 400, "Obsolete line folding in a header field", {}},
      {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400, "Malformed header field: 'No colon'", {}},
      {"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, "Malformed Content-Length: '1x'", {}},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "Conflicting Content-Length fields", {}},
      {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
       "Request body is larger than the limit of 67108864 bytes", {}},
      {"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n", 413, "Request body is larger than the limit of 8 bytes", small},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
       "Transfer-Encoding not supported: 'gzip' (only chunked)", {}},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
       "Both Content-Length and Transfer-Encoding", {}},
      {"POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417, "Expectation not supported: '200-ok'", {}},
      {"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, "More than 2 header fields", small},
      {"GET /" + std::string(80, 'a') + " HTTP/1.1\r\n\r\n", 431,
       "Request header fields are larger than the limit of 64 bytes", small},
      {"GET /" + std::string(80, 'a'), 431, "Request header fields are larger than the limit of 64 bytes", small},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "Malformed chunk size: 'zz'", {}},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", 400,
       "Malformed chunk: no CRLF after its 3 bytes", {}},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\n", 413,
       "Request body is larger than the limit of 8 bytes", small},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n", 413,
       "Request body is larger than the limit of 67108864 bytes", {}},
  };
  for (const Case& c : cases) {
    const Parsed r = parse(c.bytes, c.limits);
    EXPECT_EQ(r.status, ParseStatus::error) << c.bytes;
    EXPECT_EQ(r.error.status, c.status) << c.bytes;
    EXPECT_EQ(r.error.message, c.message) << c.bytes;
  }
}

TEST(HttpParse, AnswerHeads) {
  HttpResponse r{404, "application/json", "{}"};
  EXPECT_EQ(response_head(r, false, false), "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(response_head(r, true, false),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
  r.status = 7;
  EXPECT_EQ(response_head(r, false, true).substr(0, 35), "HTTP/1.1 500 Internal Server Error\r");
  EXPECT_NE(response_head(r, false, true).find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST(HttpParse, FuzzSeedsAndRegressionsReplayCleanly) {
  EXPECT_GT(sluice::testing::replay_fuzz_inputs("corpus", "fuzz_http_request", fuzz::http_request::run), 5u)
      << "tests/fuzz/corpus/fuzz_http_request missing";
  sluice::testing::replay_fuzz_inputs("regressions", "fuzz_http_request", fuzz::http_request::run);
}

// ---- the server, through raw sockets ----

class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& s) const { ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }
  // Reads until `want` bytes of answers are in, the server closes, or `limit` passes.
  std::string read(size_t want = SIZE_MAX, std::chrono::milliseconds limit = 3000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (got_.size() < want) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        reset_ = n < 0;
        break;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }
  // Reads one whole answer (head + Content-Length body) and removes it from what was read.
  std::string answer(std::chrono::milliseconds limit = 3000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      const size_t head = got_.find("\r\n\r\n");
      if (head != std::string::npos) {
        const size_t cl = got_.find("Content-Length: ");
        const size_t len = cl < head ? std::stoul(got_.substr(cl + 16)) : 0;
        if (got_.size() >= head + 4 + len) {
          std::string a = got_.substr(0, head + 4 + len);
          got_.erase(0, a.size());
          return a;
        }
      }
      const size_t before = got_.size();
      read(got_.size() + 1, std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()));
      if (got_.size() == before) break;
    }
    return "";
  }
  bool closed() const { return closed_; }
  bool reset() const { return reset_; }

 private:
  int fd_ = -1;
  bool connected_ = false, closed_ = false, reset_ = false;
  std::string got_;
};

std::string body_of(const std::string& answer) { return answer.substr(answer.find("\r\n\r\n") + 4); }

class HttpLoopTest : public ::testing::Test {
 protected:
  void start(HttpLoopOptions o = {}) {
    loop_ = std::make_unique<HttpLoop>(
        o,
        [this](const HttpRequest& req, HttpResponse& res) {
          ++handled_;
          if (req.path == "/throw") throw std::runtime_error("boom");
          if (req.path == "/slow") std::this_thread::sleep_for(300ms);
          res.content_type = "text/plain";
          res.body = req.method + " " + req.path + " " + req.body;
        },
        [](int status, const std::string& message) { return HttpResponse{status, "text/plain", "E " + message}; },
        [this](const HttpRequest&, const HttpResponse& res, std::chrono::steady_clock::time_point) {
          logged_ += res.status;
        });
    port_ = loop_->bind("127.0.0.1", 0);
    loop_->start();
  }
  std::unique_ptr<HttpLoop> loop_;
  int port_ = 0;
  std::atomic<int> handled_{0}, logged_{0};
};

TEST_F(HttpLoopTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawClient c(port_);
  c.send("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET /c HTTP/1.1\r\n\r\n");
  const std::string a = c.answer(), b = c.answer(), d = c.answer();
  EXPECT_EQ(a, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nGET /a ");
  EXPECT_EQ(body_of(b), "POST /b xy");
  EXPECT_EQ(body_of(d), "GET /c ");
  EXPECT_EQ(handled_.load(), 3);
}

TEST_F(HttpLoopTest, ChunkedUploadContinueHeadAndHttp10) {
  start();
  RawClient c(port_);
  c.send("POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  std::this_thread::sleep_for(50ms);
  c.send("0\r\n\r\n");
  EXPECT_EQ(body_of(c.answer()), "POST /up abc");

  c.send("POST /e HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(c.read(25), "HTTP/1.1 100 Continue\r\n\r\n");
  c.answer();  // takes the 100 Continue off what was read
  c.send("xyz");
  EXPECT_EQ(body_of(c.answer()), "POST /e xyz");
  RawClient d(port_);
  d.send("HEAD /h HTTP/1.1\r\n\r\n");
  EXPECT_EQ(d.read(SIZE_MAX, 300ms), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n");

  RawClient old(port_);
  old.send("GET /old HTTP/1.0\r\n\r\n");
  EXPECT_NE(old.answer().find("Connection: close\r\n"), std::string::npos);
  old.read();
  EXPECT_TRUE(old.closed());
}

TEST_F(HttpLoopTest, HandlerExceptionsAre500) {
  start();
  RawClient c(port_);
  c.send("GET /throw HTTP/1.1\r\n\r\nGET /fine HTTP/1.1\r\n\r\n");
  const std::string a = c.answer();
  EXPECT_EQ(a.substr(0, 36), "HTTP/1.1 500 Internal Server Error\r\n");
  EXPECT_EQ(body_of(a), "E Internal error: boom");
  EXPECT_EQ(body_of(c.answer()), "GET /fine ");  // the connection goes on
}

TEST_F(HttpLoopTest, TimeLimitsAnswer408AndCloseIdleConnections) {
  HttpLoopOptions o;
  o.timeout_ms = 300;
  o.idle_timeout_ms = 400;
  start(o);
  RawClient slow(port_);
  slow.send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab");
  const std::string a = slow.answer(2000ms);
  EXPECT_EQ(a.substr(0, 30), "HTTP/1.1 408 Request Timeout\r\n");
  EXPECT_EQ(body_of(a), "E The request did not arrive in full within 300 ms");
  slow.read(SIZE_MAX, 1000ms);
  EXPECT_TRUE(slow.closed());

  RawClient idle(port_);
  idle.send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(body_of(idle.answer()), "GET / ");
  const auto t0 = std::chrono::steady_clock::now();
  idle.read(SIZE_MAX, 2000ms);
  EXPECT_TRUE(idle.closed());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
}

TEST_F(HttpLoopTest, TooLargeBodyGets413NotAReset) {
  HttpLoopOptions o;
  o.limits.max_body_bytes = 1000;
  start(o);
  RawClient c(port_);
  c.send("POST / HTTP/1.1\r\nContent-Length: 200000\r\n\r\n" + std::string(200000, 'x'));
  const std::string a = c.answer();
  EXPECT_EQ(a.substr(0, 31), "HTTP/1.1 413 Content Too Large\r");
  EXPECT_NE(a.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(a), "E Request body is larger than the limit of 1000 bytes");
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpLoopTest, ConnectionsBeyondTheLimitAreClosed) {
  HttpLoopOptions o;
  o.max_connections = 2;
  start(o);
  RawClient a(port_), b(port_);
  a.send("GET / HTTP/1.1\r\n\r\n");
  b.send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(a.answer().empty());
  EXPECT_FALSE(b.answer().empty());
  RawClient c(port_);
  ASSERT_TRUE(c.connected());  // the kernel accepts; the server closes it at once
  c.read(SIZE_MAX, 2000ms);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(loop_->connections(), 2u);
}

TEST_F(HttpLoopTest, ManyClientsAtOnceEachGetTheirOwnAnswers) {
  HttpLoopOptions o;
  o.threads = 8;
  start(o);
  constexpr int kClients = 64, kRequests = 30;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t)
    clients.emplace_back([&, t] {
      RawClient c(port_);
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        c.send("POST /m HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
        if (body_of(c.answer(5000ms)) != "POST /m " + body) ++wrong;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(handled_.load(), kClients * kRequests);
  // An answer is logged after it is handed to the socket, so the last few may be logged a
  // moment after their clients have them: wait (bounded) for the count.
  for (int i = 0; i < 200 && logged_.load() < 200 * kClients * kRequests; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(logged_.load(), 200 * kClients * kRequests);
}

TEST_F(HttpLoopTest, StopFinishesInFlightRequestsAndClosesIdleOnes) {
  start();
  RawClient idle(port_), busy(port_);
  idle.send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(idle.answer().empty());
  busy.send("GET /slow HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(100ms);  // the request is in its handler
  const auto t0 = std::chrono::steady_clock::now();
  loop_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
  const std::string a = busy.answer();
  EXPECT_EQ(body_of(a), "GET /slow ");
  EXPECT_NE(a.find("Connection: close\r\n"), std::string::npos);
  idle.read(SIZE_MAX, 1000ms);
  EXPECT_TRUE(idle.closed());
  RawClient late(port_);
  EXPECT_FALSE(late.connected());
  EXPECT_FALSE(loop_->running());
}

// At most max_running workers take requests at once; one that waits inside a WorkerWait
// (as a request waiting for its batch does) lets another take the next request.
int concurrent_handlers(bool step_aside) {
  std::mutex m;
  std::condition_variable cv;
  int inside = 0, most = 0, arrived = 0;
  constexpr int kClients = 6;
  HttpLoopOptions o;
  o.threads = 8;
  o.max_running = 2;
  HttpLoop loop(
      o,
      [&](const HttpRequest&, HttpResponse& res) {
        std::optional<WorkerWait> waiting;
        if (step_aside) waiting.emplace();
        std::unique_lock<std::mutex> lock(m);
        most = std::max(most, ++inside);
        ++arrived;
        cv.notify_all();
        // Stepping aside, all six arrive and the wait ends at once (bounded generously for
        // loaded machines); not stepping aside, they come two at a time and each waits 500 ms.
        cv.wait_for(lock, step_aside ? 10000ms : 500ms, [&] { return arrived >= kClients; });
        --inside;
        res.body = "ok";
      },
      [](int status, const std::string& message) { return HttpResponse{status, "text/plain", message}; }, nullptr);
  const int port = loop.bind("127.0.0.1", 0);
  loop.start();
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&] {
      RawClient c(port);
      c.send("GET / HTTP/1.1\r\n\r\n");
      if (body_of(c.answer(10000ms)) == "ok") ++answered;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients);
  return most;
}

TEST(HttpLoop, WorkersTakingRequestsAreBoundedAndWaitsStepAside) {
  EXPECT_EQ(concurrent_handlers(false), 2);  // computing handlers: never more than max_running
  EXPECT_EQ(concurrent_handlers(true), 6);   // waiting ones: all six at once
}

TEST(HttpLoop, BindErrorsAreTyped) {
  HttpLoop loop({}, [](const HttpRequest&, HttpResponse&) {}, [](int s, const std::string& m) { return HttpResponse{s, "", m}; },
                nullptr);
  EXPECT_THROW(loop.bind("127.0.0.1", 70000), InvalidArgument);
  EXPECT_THROW(loop.bind("192.0.2.1", 0), InvalidArgument);  // TEST-NET-1: not an address of this machine
  const int port = loop.bind("127.0.0.1", 0);
  HttpLoop other({}, [](const HttpRequest&, HttpResponse&) {}, [](int s, const std::string& m) { return HttpResponse{s, "", m}; },
                 nullptr);
  EXPECT_THROW(other.bind("127.0.0.1", port), InvalidArgument);
  HttpLoopOptions no_threads;
  no_threads.threads = 0;
  EXPECT_THROW(HttpLoop(no_threads, nullptr, nullptr, nullptr), InvalidArgument);
}

}  // namespace
}  // namespace sluice::serving
