#include "server/serve.h"

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "mocks/common_mocks.h"
#include "mocks/server_mocks.h"
#include "server/unix_socket.h"
#include "support/test_env.h"

namespace nixsnap::server {
namespace {

namespace snapshots_pb = ::containerd::services::snapshots::v1;
using ::testing::ElementsAre;
using ::testing::InSequence;
using ::testing::StrictMock;
using namespace std::chrono_literals;

/// A snapshots service whose Stat echoes the key after `delay`, unless cancelled first.
class SlowSnapshots : public snapshots_pb::Snapshots::Service {
 public:
  explicit SlowSnapshots(std::chrono::milliseconds delay) : delay_(delay) {}

  grpc::Status Stat(grpc::ServerContext* ctx, const snapshots_pb::StatSnapshotRequest* req,
                    snapshots_pb::StatSnapshotResponse* resp) override {
    entered_.set_value();
    const auto until = std::chrono::steady_clock::now() + delay_;
    while (std::chrono::steady_clock::now() < until) {
      if (ctx->IsCancelled()) {
        return {grpc::StatusCode::CANCELLED, "cancelled"};
      }
      std::this_thread::sleep_for(10ms);
    }
    resp->mutable_info()->set_name(req->key());
    return grpc::Status::OK;
  }

  std::future<void> entered() { return entered_.get_future(); }

 private:
  std::chrono::milliseconds delay_;
  std::promise<void> entered_;
};

grpc::Status callStat(const fs::path& sock, const std::string& key, std::string* name) {
  auto channel = grpc::CreateChannel("unix:" + sock.string(), grpc::InsecureChannelCredentials());
  auto stub = snapshots_pb::Snapshots::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  snapshots_pb::StatSnapshotRequest req;
  req.set_key(key);
  snapshots_pb::StatSnapshotResponse resp;
  grpc::Status st = stub->Stat(&ctx, req, &resp);
  if (name != nullptr) {
    *name = resp.info().name();
  }
  return st;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::create("/tmp", "nixsnap-");
    ASSERT_TRUE(dir.isOk());
    dir_.emplace(std::move(dir).value());
    sock_ = dir_->path() / "run" / "ns.sock";
  }
  std::optional<TempDir> dir_;
  fs::path sock_;
  StrictMock<MockNotifier> notifier_;
  ::nixsnap::testing::CountingRandom random_;
};

TEST_F(ServeTest, NotifiesReadyServesCallsThenNotifiesStopping) {
  SlowSnapshots service(0ms);
  {
    InSequence seq;
    EXPECT_CALL(notifier_, notify(std::string_view("READY=1")));
    EXPECT_CALL(notifier_, notify(std::string_view("STOPPING=1")));
  }
  std::string name;
  grpc::Status call;
  Status st = serve(sock_, {&service}, notifier_, random_, [&] {
    call = callStat(sock_, "default/1/k", &name);
    return 15;
  });
  ASSERT_TRUE(st.isOk()) << st.toString();
  EXPECT_TRUE(call.ok()) << call.error_message();
  EXPECT_EQ(name, "default/1/k");
  EXPECT_FALSE(fs::exists(fs::symlink_status(sock_))) << "socket removed at stop";
}

TEST_F(ServeTest, InFlightCallFinishesDuringGracefulShutdown) {
  SlowSnapshots service(400ms);
  auto entered = service.entered();
  EXPECT_CALL(notifier_, notify(std::string_view("READY=1")));
  EXPECT_CALL(notifier_, notify(std::string_view("STOPPING=1")));
  std::future<grpc::Status> call;
  std::string name;
  Status st = serve(
      sock_, {&service}, notifier_, random_,
      [&] {
        call = std::async(std::launch::async, [&] { return callStat(sock_, "inflight", &name); });
        entered.wait();
        return 15;
      },
      5000ms);
  ASSERT_TRUE(st.isOk());
  grpc::Status result = call.get();
  EXPECT_TRUE(result.ok()) << result.error_message();
  EXPECT_EQ(name, "inflight");
}

TEST_F(ServeTest, CallsStillRunningAfterTheGraceAreCancelled) {
  SlowSnapshots service(30000ms);
  auto entered = service.entered();
  EXPECT_CALL(notifier_, notify(std::string_view("READY=1")));
  EXPECT_CALL(notifier_, notify(std::string_view("STOPPING=1")));
  std::future<grpc::Status> call;
  const auto t0 = std::chrono::steady_clock::now();
  Status st = serve(
      sock_, {&service}, notifier_, random_,
      [&] {
        call = std::async(std::launch::async, [&] { return callStat(sock_, "slow", nullptr); });
        entered.wait();
        return 2;
      },
      200ms);
  ASSERT_TRUE(st.isOk());
  EXPECT_FALSE(call.get().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(ServeTest, SecondServerOnTheSameSocketIsRefused) {
  SlowSnapshots first(0ms);
  SlowSnapshots second(0ms);
  EXPECT_CALL(notifier_, notify(std::string_view("READY=1")));
  EXPECT_CALL(notifier_, notify(std::string_view("STOPPING=1")));
  Status inner;
  Status st = serve(sock_, {&first}, notifier_, random_, [&] {
    StrictMock<MockNotifier> other;  // never told READY: it did not start
    inner = serve(sock_, {&second}, other, random_, [] { return 0; });
    return 15;
  });
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(inner.code(), ErrorCode::AlreadyExists);
}

TEST_F(ServeTest, StaleSocketLeftByACrashedDaemonIsReplaced) {
  fs::create_directories(sock_.parent_path());
  {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  SlowSnapshots service(0ms);
  EXPECT_CALL(notifier_, notify(std::string_view("READY=1")));
  EXPECT_CALL(notifier_, notify(std::string_view("STOPPING=1")));
  grpc::Status call;
  ASSERT_TRUE(serve(sock_, {&service}, notifier_, random_, [&] {
                call = callStat(sock_, "k", nullptr);
                return 0;
              }).isOk());
  EXPECT_TRUE(call.ok()) << call.error_message();
}

TEST_F(ServeTest, SocketNameAppearsOnlyOnceListening) {
  // A client polling for the name (containerd's proxy dialer) must never find a bound
  // socket that does not listen yet: it gets ECONNREFUSED and backs off for seconds. So
  // the socket is bound under a staging name, and the address is linked to it after.
  fs::create_directories(sock_.parent_path());
  UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  ASSERT_TRUE(watch.valid());
  ASSERT_GE(::inotify_add_watch(watch.get(), sock_.parent_path().c_str(), IN_CREATE | IN_DELETE),
            0);
  SlowSnapshots service(0ms);
  EXPECT_CALL(notifier_, notify(std::string_view("READY=1")));
  EXPECT_CALL(notifier_, notify(std::string_view("STOPPING=1")));
  bool served = false;
  ASSERT_TRUE(serve(sock_, {&service}, notifier_, random_, [&] {
                served = socketIsServed(sock_);
                return 0;
              }).isOk());
  EXPECT_TRUE(served);

  std::vector<std::string> events;  // "+name" created, "-name" deleted
  alignas(inotify_event) char buf[4096];
  for (ssize_t n; (n = ::read(watch.get(), buf, sizeof(buf))) > 0;) {
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      if (ev->len > 0) {
        events.push_back(((ev->mask & IN_CREATE) != 0 ? "+" : "-") + std::string(ev->name));
      }
      p += sizeof(inotify_event) + ev->len;
    }
  }
  ASSERT_EQ(events.size(), 4u) << ::testing::PrintToString(events);
  const std::string staging = events[0].substr(1);
  EXPECT_THAT(staging, ::testing::EndsWith(".sock.new"));
  EXPECT_THAT(events, ElementsAre("+" + staging, "+ns.sock", "-" + staging, "-ns.sock"));
}

}  // namespace
}  // namespace nixsnap::server
