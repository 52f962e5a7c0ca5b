// The Consume call on the wire (raw stub): events packed into one ConsumeResponse only for a
// client that accepts them, every event delivered exactly once either way, in order.
#include <grpcpp/grpcpp.h>

#include "reckon/v1/reckon.grpc.pb.h"
#include "server/server_test_util.h"

namespace reckon::testing {
namespace {

class ConsumeWireTest : public SharedServerTest {
 protected:
  // A subscription to a fresh stream holding `events` events. Ordering none: with per-stream
  // ordering one stream's events go out one at a time, leaving nothing to pack.
  std::string subscription_with_events(const std::string& base, int events) {
    const std::string stream = unique_name(base);
    NewSubscription n;
    n.type = SubscriptionType::kStream;
    n.selector = stream;
    n.name = stream + "-sub";
    n.start_from = client().stats().last_position;
    n.options.ordering = DeliveryOrdering::kNone;
    EXPECT_TRUE(client().create_subscription(n).is_ok());
    std::vector<NewEvent> batch;
    for (int i = 0; i < events; ++i) batch.push_back(make_event("E", "{}"));
    EXPECT_TRUE(client().append(stream, kExpectAny, batch).is_ok());
    return n.name;
  }

  struct Received {
    std::vector<Position> positions;  // in arrival order
    int messages_with_packed = 0;
  };

  // Attaches, acks every message's events, and returns once `events` events arrived.
  Received consume(const std::string& name, size_t events, bool accepts_packed) {
    auto channel = grpc::CreateChannel(server().grpc_address(), grpc::InsecureChannelCredentials());
    auto stub = v1::PersistentSubscriptions::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    auto stream = stub->Consume(&ctx);
    v1::ConsumeRequest attach;
    attach.mutable_attach()->set_name(name);
    attach.mutable_attach()->set_max_in_flight(1000);
    attach.mutable_attach()->set_accepts_packed_events(accepts_packed);
    EXPECT_TRUE(stream->Write(attach));
    Received got;
    v1::ConsumeResponse msg;
    while (got.positions.size() < events && stream->Read(&msg)) {
      if (!msg.has_event()) continue;
      if (msg.packed_size() > 0) ++got.messages_with_packed;
      v1::ConsumeRequest ack;
      ack.mutable_ack()->add_positions(msg.event().event().position());
      got.positions.push_back(msg.event().event().position());
      for (const auto& e : msg.packed()) {
        ack.mutable_ack()->add_positions(e.event().position());
        got.positions.push_back(e.event().position());
      }
      EXPECT_TRUE(stream->Write(ack));
    }
    ctx.TryCancel();
    stream->Finish();
    return got;
  }

  static bool in_order_without_repeats(const std::vector<Position>& p) {
    for (size_t i = 1; i < p.size(); ++i) {
      if (p[i] <= p[i - 1]) return false;
    }
    return true;
  }
};

TEST_F(ConsumeWireTest, AClientThatDoesNotAcceptPackedEventsGetsOneEventPerMessage) {
  const std::string name = subscription_with_events("unpacked", 300);
  Received got = consume(name, 300, /*accepts_packed=*/false);
  ASSERT_EQ(got.positions.size(), 300u);
  EXPECT_EQ(got.messages_with_packed, 0);
  EXPECT_TRUE(in_order_without_repeats(got.positions));
}

TEST_F(ConsumeWireTest, PackedEventsArriveOnceEachInOrder) {
  const std::string name = subscription_with_events("packed", 300);
  Received got = consume(name, 300, /*accepts_packed=*/true);
  RecordProperty("messages_with_packed_events", got.messages_with_packed);
  ASSERT_EQ(got.positions.size(), 300u);
  EXPECT_TRUE(in_order_without_repeats(got.positions));
}

}  // namespace
}  // namespace reckon::testing
