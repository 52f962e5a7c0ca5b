// GrpcClient: reckon::Client over the reckon.v1 gRPC API. Every call goes through
// call_with_retry(), the one place that knows about endpoints, leader redirects, deadlines and
// backoff; the methods below only translate between reckon types and protobuf (src/wire).
#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "client/ack_writer.h"
#include "client/append_mux.h"
#include "reckon/client.h"
#include "reckon/v1/reckon.grpc.pb.h"
#include "wire/convert.h"
#include "wire/status_mapping.h"
#include "wire/subscription_convert.h"

namespace reckon {
namespace {

namespace v1 = ::reckon::v1;

constexpr uint64_t kPageLimit = 4096;  // events per page for paged (non-streaming) reads

struct Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Streams::Stub> streams;
  std::unique_ptr<v1::Snapshots::Stub> snapshots;
  std::unique_ptr<v1::Cluster::Stub> cluster;
  std::unique_ptr<v1::Subscriptions::Stub> subscriptions;
  std::unique_ptr<v1::AppendSessions::Stub> append_sessions;
  std::unique_ptr<v1::PersistentSubscriptions::Stub> persistent;
};

class GrpcClient final : public Client {
 public:
  explicit GrpcClient(ClientOptions options) : options_(std::move(options)) {
    endpoints_ = options_.endpoints;
  }

  // Asynchronous appends call back into the client (redirects) from gRPC's threads: stop new
  // redirects and sessions, close the session (it fails what it still waits for), and wait
  // until every callback has returned.
  ~GrpcClient() override {
    {
      std::lock_guard<std::mutex> lock(async_mu_);
      closing_ = true;
    }
    std::vector<std::shared_ptr<client::AppendMux>> sessions;
    {
      std::lock_guard<std::mutex> lock(mux_mu_);
      sessions = std::move(retired_muxes_);
      sessions.push_back(std::move(mux_));
    }
    sessions.clear();
    std::unique_lock<std::mutex> lock(async_mu_);
    async_idle_.wait(lock, [&] { return async_in_flight_ == 0; });
  }

  std::string current_endpoint() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return endpoints_[current_];
  }

  // ---- Appends ----
  Result<AppendResult> append(const std::string& stream_id, ExpectedVersion expected,
                              std::vector<NewEvent> events) override {
    std::vector<StreamAppend> parts;
    parts.push_back(StreamAppend{stream_id, expected, std::move(events)});
    RECKON_ASSIGN_OR_RETURN(auto results, append_multi(std::move(parts), std::nullopt));
    if (results.empty()) return Status::internal("server returned no append result");
    return std::move(results.front());
  }

  Result<AppendResult> append_if(const std::string& stream_id, ExpectedVersion expected,
                                 std::vector<NewEvent> events, AppendCondition condition) override {
    std::vector<StreamAppend> parts;
    parts.push_back(StreamAppend{stream_id, expected, std::move(events)});
    RECKON_ASSIGN_OR_RETURN(auto results, append_multi(std::move(parts), std::move(condition)));
    if (results.empty()) return Status::internal("server returned no append result");
    return std::move(results.front());
  }

  Result<std::vector<AppendResult>> append_multi(std::vector<StreamAppend> appends,
                                                 std::optional<AppendCondition> condition) override {
    // The request (built once, resent as is on a retry) lives on an arena and takes the
    // payloads over: no per-event allocations or copies beyond the serialisation.
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = 4096;
    arena_options.max_block_size = 256 * 1024;
    google::protobuf::Arena arena(arena_options);
    auto* req = google::protobuf::Arena::CreateMessage<v1::AppendRequest>(&arena);
    fill_append(appends, condition, req, /*move_payloads=*/true);
    v1::AppendResponse resp;
    // Every event now has an id, so a retry is an idempotent retry on the server.
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.streams->Append(&ctx, *req, &resp);
    }));
    std::vector<AppendResult> out;
    for (const auto& r : resp.results()) out.push_back(wire::from_proto(r));
    return out;
  }

  void append_multi_async(std::vector<StreamAppend> appends, std::optional<AppendCondition> condition,
                          AppendCallback done) override {
    auto pending = std::make_shared<AsyncAppend>();
    pending->request = build_append(appends, condition);  // gives every event its id
    pending->appends = std::move(appends);
    pending->condition = std::move(condition);
    pending->done = std::move(done);
    {
      std::lock_guard<std::mutex> lock(async_mu_);
      ++async_in_flight_;
    }
    send_async(std::move(pending));
  }

  // ---- Reads ----
  Result<ReadStreamResult> read(const std::string& stream_id, const ReadStreamOptions& o) override {
    ReadStreamResult result;
    ReadStreamOptions opts = o;
    if (opts.max_count == 0) return result;
    Status s = read_stream_rpc(stream_id, opts, [&](const Event& e) {
      result.events.push_back(e);
      return true;
    }, &result);
    if (!s.is_ok()) return s;
    return result;
  }

  Status read_streaming(const std::string& stream_id, const ReadStreamOptions& o,
                        const std::function<bool(const Event&)>& visitor) override {
    ReadStreamOptions opts = o;
    if (opts.max_count == kPageLimit) opts.max_count = 0;
    return read_stream_rpc(stream_id, opts, visitor, nullptr);
  }

  Result<ReadAllResult> read_all(const ReadAllOptions& o) override {
    v1::ReadAllRequest req;
    fill_read_all(o, req);
    return read_page(req, &v1::Streams::Stub::ReadAll);
  }

  Status read_all_streaming(const ReadAllOptions& o,
                            const std::function<bool(const Event&)>& visitor) override {
    v1::ReadAllRequest req;
    fill_read_all(o, req);
    if (o.max_count == kPageLimit) req.set_max_count(0);
    return stream_events<v1::ReadAllRequest>(req, &v1::Streams::Stub::ReadAll, visitor, nullptr);
  }

  Status scan_all(Position from, const std::function<bool(const Event&)>& visitor) override {
    ReadAllOptions o;
    o.from_position = from;
    o.max_count = 0;
    v1::ReadAllRequest req;
    fill_read_all(o, req);
    req.set_max_count(0);
    return stream_events<v1::ReadAllRequest>(req, &v1::Streams::Stub::ReadAll, visitor, nullptr);
  }

  Result<ReadAllResult> read_by_event_types(const std::vector<std::string>& types,
                                            const IndexReadOptions& o) override {
    v1::ReadIndexRequest req = index_request(o);
    for (const auto& t : types) req.add_event_types(t);
    return read_page(req, &v1::Streams::Stub::ReadByEventTypes);
  }

  Result<ReadAllResult> read_by_tags(const std::vector<std::string>& tags, TagMatch match,
                                     const IndexReadOptions& o) override {
    v1::ReadIndexRequest req = index_request(o);
    for (const auto& t : tags) req.add_tags(t);
    req.set_tag_match(match == TagMatch::kAll ? v1::TAG_MATCH_ALL : v1::TAG_MATCH_ANY);
    return read_page(req, &v1::Streams::Stub::ReadByTags);
  }

  // ---- Stream state ----
  Result<int64_t> get_version(const std::string& stream_id) override {
    v1::VersionResponse resp;
    RECKON_RETURN_IF_ERROR(unary(&v1::Streams::Stub::GetVersion, stream_request(stream_id), resp));
    return resp.version();
  }
  Result<bool> exists(const std::string& stream_id) override {
    v1::ExistsResponse resp;
    RECKON_RETURN_IF_ERROR(unary(&v1::Streams::Stub::Exists, stream_request(stream_id), resp));
    return resp.exists();
  }
  Result<StreamInfo> stream_info(const std::string& stream_id) override {
    v1::StreamInfo resp;
    RECKON_RETURN_IF_ERROR(unary(&v1::Streams::Stub::GetStreamInfo, stream_request(stream_id), resp));
    return wire::from_proto(resp);
  }
  Result<ListStreamsResult> list_streams(const ListStreamsOptions& o) override {
    v1::ListStreamsRequest req;
    req.set_store(options_.store);
    req.set_prefix(o.prefix);
    req.set_after(o.after);
    req.set_limit(o.limit);
    req.set_include_deleted(o.include_deleted);
    v1::ListStreamsResponse resp;
    RECKON_RETURN_IF_ERROR(unary(&v1::Streams::Stub::ListStreams, req, resp));
    ListStreamsResult out;
    for (const auto& s : resp.streams()) out.streams.push_back(wire::from_proto(s));
    out.next_after = resp.next_after();
    return out;
  }
  Status delete_stream(const std::string& stream_id, ExpectedVersion expected) override {
    auto req = stream_request(stream_id);
    req.set_expected_version(expected);
    v1::Empty resp;
    return unary(&v1::Streams::Stub::DeleteStream, req, resp, expected == kExpectAny);
  }
  Status tombstone_stream(const std::string& stream_id, ExpectedVersion expected) override {
    auto req = stream_request(stream_id);
    req.set_expected_version(expected);
    v1::Empty resp;
    return unary(&v1::Streams::Stub::TombstoneStream, req, resp, expected == kExpectAny);
  }
  Status truncate_before(const std::string& stream_id, int64_t before_version) override {
    auto req = stream_request(stream_id);
    req.set_version(before_version);
    v1::Empty resp;
    return unary(&v1::Streams::Stub::TruncateBefore, req, resp);
  }
  Status set_stream_metadata(const std::string& stream_id, const StreamMetadata& metadata) override {
    v1::SetStreamMetadataRequest req;
    req.set_store(options_.store);
    req.set_stream_id(stream_id);
    wire::to_proto(metadata, req.mutable_metadata());
    v1::Empty resp;
    return unary(&v1::Streams::Stub::SetStreamMetadata, req, resp);
  }
  Result<StreamMetadata> get_stream_metadata(const std::string& stream_id) override {
    v1::StreamMetadata resp;
    RECKON_RETURN_IF_ERROR(unary(&v1::Streams::Stub::GetStreamMetadata, stream_request(stream_id), resp));
    return wire::from_proto(resp);
  }

  // ---- Snapshots ----
  Status save_snapshot(const Snapshot& snapshot) override {
    v1::SaveSnapshotRequest req;
    req.set_store(options_.store);
    wire::to_proto(snapshot, req.mutable_snapshot());
    v1::Empty resp;
    return snapshot_unary(&v1::Snapshots::Stub::Save, req, resp);
  }
  Result<Snapshot> load_snapshot(const std::string& stream_id) override {
    v1::Snapshot resp;
    RECKON_RETURN_IF_ERROR(snapshot_unary(&v1::Snapshots::Stub::Load, snapshot_request(stream_id, {}), resp));
    return wire::from_proto(resp);
  }
  Result<Snapshot> load_snapshot_at(const std::string& stream_id, int64_t version) override {
    v1::Snapshot resp;
    RECKON_RETURN_IF_ERROR(
        snapshot_unary(&v1::Snapshots::Stub::Load, snapshot_request(stream_id, version), resp));
    return wire::from_proto(resp);
  }
  Result<std::vector<Snapshot>> list_snapshots(const std::string& stream_id) override {
    v1::SnapshotList resp;
    RECKON_RETURN_IF_ERROR(snapshot_unary(&v1::Snapshots::Stub::List, snapshot_request(stream_id, {}), resp));
    std::vector<Snapshot> out;
    for (const auto& s : resp.snapshots()) out.push_back(wire::from_proto(s));
    return out;
  }
  Status delete_snapshots(const std::string& stream_id) override {
    v1::Empty resp;
    return snapshot_unary(&v1::Snapshots::Stub::Delete, snapshot_request(stream_id, {}), resp);
  }
  Status delete_snapshot_at(const std::string& stream_id, int64_t version) override {
    v1::Empty resp;
    return snapshot_unary(&v1::Snapshots::Stub::Delete, snapshot_request(stream_id, version), resp);
  }
  Result<bool> snapshot_exists(const std::string& stream_id) override {
    v1::ExistsResponse resp;
    RECKON_RETURN_IF_ERROR(snapshot_unary(&v1::Snapshots::Stub::Exists, snapshot_request(stream_id, {}), resp));
    return resp.exists();
  }
  Result<bool> snapshot_exists_at(const std::string& stream_id, int64_t version) override {
    v1::ExistsResponse resp;
    RECKON_RETURN_IF_ERROR(
        snapshot_unary(&v1::Snapshots::Stub::Exists, snapshot_request(stream_id, version), resp));
    return resp.exists();
  }

  // ---- Persistent subscriptions ----
  Result<Subscription> create_subscription(const NewSubscription& n) override {
    v1::CreatePersistentSubscriptionRequest req;
    wire::to_proto(n, &req);
    req.set_store(options_.store);
    v1::PersistentSubscription resp;
    // Creating again with the same key re-attaches: a retry is harmless.
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->Create(&ctx, req, &resp);
    }));
    return wire::from_proto(resp);
  }
  Status delete_subscription(const std::string& key) override {
    v1::Empty resp;
    return call(false, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->Delete(&ctx, ref(key, "", ""), &resp);
    });
  }
  Status delete_subscription(SubscriptionType type, const std::string& name) override {
    v1::Empty resp;
    return call(false, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->Delete(&ctx, ref("", name, std::string(subscription_type_name(type))), &resp);
    });
  }
  Result<Subscription> get_subscription(const std::string& key) override { return get_ref(ref(key, "", "")); }
  Result<Subscription> get_subscription_by_name(const std::string& name) override {
    return get_ref(ref("", name, ""));
  }
  Result<std::vector<Subscription>> list_subscriptions() override {
    v1::ListPersistentSubscriptionsRequest req;
    req.set_store(options_.store);
    v1::PersistentSubscriptionList resp;
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->List(&ctx, req, &resp);
    }));
    std::vector<Subscription> out;
    for (const auto& p : resp.subscriptions()) {
      RECKON_ASSIGN_OR_RETURN(auto sub, wire::from_proto(p));
      out.push_back(std::move(sub));
    }
    return out;
  }
  Result<bool> subscription_exists(const std::string& key) override {
    v1::ExistsResponse resp;
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->Exists(&ctx, ref(key, "", ""), &resp);
    }));
    return resp.exists();
  }
  // Checkpoints and parking belong to the leader's emitter pools; consumers ack and nack.
  Status checkpoint_subscriptions(const std::vector<SubscriptionCheckpoint>&) override {
    return Status::unimplemented("checkpoints are kept by the server: consume and ack instead");
  }
  Status park_events(const std::string&, const std::vector<ParkedEvent>&) override {
    return Status::unimplemented("events are parked by the server: nack with park instead");
  }
  Result<std::vector<ParkedEvent>> list_parked(const std::string& key, const ListParkedOptions& o) override {
    v1::ListParkedRequest req;
    *req.mutable_subscription() = ref(key, "", "");
    req.set_after_position(o.after_position);
    req.set_limit(o.limit);
    v1::ParkedEventList resp;
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->ListParked(&ctx, req, &resp);
    }));
    std::vector<ParkedEvent> out;
    for (const auto& p : resp.events()) out.push_back(wire::from_proto(p));
    return out;
  }
  Status unpark(const std::string& key, const std::vector<Position>& positions) override {
    return replay_parked(key, positions).status();
  }
  Result<uint64_t> replay_parked(const std::string& key, const std::vector<Position>& positions) override {
    v1::ReplayParkedRequest req;
    *req.mutable_subscription() = ref(key, "", "");
    for (auto p : positions) req.add_positions(p);
    v1::ReplayParkedResponse resp;
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->ReplayParked(&ctx, req, &resp);
    }));
    return resp.replayed();
  }

  Status consume(const std::string& name_or_key, const ConsumeOptions& o,
                 const std::function<ConsumeAction(const DeliveredEvent&)>& handler) override {
    int failures = 0;
    int64_t backoff = options_.initial_backoff_ms;
    Status last;
    while (failures < std::max(1, o.max_reattach_attempts)) {
      bool delivered_any = false;
      std::string reconnect_to;
      bool reconnect = false;
      if (o.stopper && o.stopper->stopped()) return Status::ok();
      Status s = consume_once(name_or_key, o, handler, delivered_any, reconnect, reconnect_to);
      if (o.stopper && o.stopper->stopped()) return Status::ok();
      if (std::chrono::system_clock::now() >= o.deadline) return Status(ErrorCode::kTimeout, "consume deadline passed");
      if (s.is_ok() && !reconnect) return s;  // the handler stopped
      if (!s.is_ok() && s.code() != ErrorCode::kUnavailable && s.code() != ErrorCode::kNotLeader &&
          s.code() != ErrorCode::kTimeout && s.code() != ErrorCode::kCancelled) {
        return s;  // NotFound, InvalidArgument...: attaching again will not help
      }
      last = s.is_ok() ? Status::unavailable("the server asked to reconnect") : s;
      if (delivered_any) {
        failures = 0;
        backoff = options_.initial_backoff_ms;
      } else {
        ++failures;
      }
      // Named leader: go there. Otherwise try the next endpoint (a follower names the leader).
      if (!reconnect_to.empty()) {
        follow_leader(reconnect_to);
      } else {
        rotate_endpoint();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff = std::min(backoff * 2, options_.max_backoff_ms);
    }
    return last;
  }
  // ---- Operations ----
  StoreStats stats() override {
    StoreStats s;
    if (auto st = cluster_status()) {
      s.applied_index = st->applied_index;
      s.last_position = st->last_position;
    }
    return s;
  }

  Result<ClusterStatus> cluster_status() override {
    v1::ClusterStatusRequest req;
    req.set_store(options_.store);
    v1::ClusterStatus resp;
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.cluster->Status(&ctx, req, &resp);
    }));
    ClusterStatus out;
    out.node_id = resp.node_id();
    out.role = resp.role();
    out.leader_id = resp.leader_id();
    out.leader = resp.leader();
    out.term = resp.term();
    for (const auto& m : resp.members()) {
      ClusterMember member;
      member.node_id = m.node_id();
      member.address = m.address();
      member.raft_address = m.raft_address();
      member.role = m.role();
      member.voter = m.voter();
      if (m.has_match_index()) member.match_index = m.match_index();
      if (m.has_lag()) member.lag = m.lag();
      out.members.push_back(std::move(member));
    }
    out.applied_index = resp.applied_index();
    out.commit_index = resp.commit_index();
    out.store = resp.store();
    out.mode = resp.mode();
    out.last_position = resp.last_position();
    out.is_active = resp.is_active();
    out.digest = resp.digest();
    out.log_write_failures = resp.log_write_failures();
    out.log_write_error = resp.log_write_error();
    return out;
  }

  // ---- Membership ----
  Status add_member(uint64_t node_id, const std::string& raft_address) override {
    v1::MembershipRequest req = membership_request(node_id);
    req.set_raft_address(raft_address);
    return membership(&v1::Cluster::Stub::AddMember, req);
  }
  Status promote_member(uint64_t node_id) override {
    return membership(&v1::Cluster::Stub::PromoteMember, membership_request(node_id));
  }
  Status remove_member(uint64_t node_id) override {
    return membership(&v1::Cluster::Stub::RemoveMember, membership_request(node_id));
  }
  Status transfer_leadership(uint64_t node_id) override {
    return membership(&v1::Cluster::Stub::TransferLeadership, membership_request(node_id));
  }

  Status subscribe(const SubscribeOptions& o,
                   const std::function<bool(const SubscriptionMessage&)>& handler) override {
    v1::SubscribeRequest req;
    req.set_store(options_.store);
    req.set_stream_id(o.stream_id);
    req.set_from_start(o.start == SubscribeOptions::Start::kBeginning);
    req.set_from_end(o.start == SubscribeOptions::Start::kEnd);
    req.set_after_position(o.after_position);
    req.set_after_version(o.after_version);
    wire::to_proto(o.filter, req.mutable_filter());
    auto stubs = current_stubs();
    grpc::ClientContext ctx;  // no deadline: a subscription lives until it is stopped
    auto reader = stubs->subscriptions->Subscribe(&ctx, req);
    v1::SubscribeResponse msg;
    SubscriptionMessage out;
    auto deliver = [&](SubscriptionMessage::Kind kind) {
      out.kind = kind;
      out.position = msg.position();
      out.version = msg.version();
      return handler(out);
    };
    bool stopped = false;
    while (!stopped && reader->Read(&msg)) {
      switch (msg.kind()) {
        case v1::SUBSCRIPTION_CONFIRMED:
          stopped = !deliver(SubscriptionMessage::Kind::kConfirmed);
          break;
        case v1::SUBSCRIPTION_CAUGHT_UP:
          stopped = !deliver(SubscriptionMessage::Kind::kCaughtUp);
          break;
        case v1::SUBSCRIPTION_CHECKPOINT:
          stopped = !deliver(SubscriptionMessage::Kind::kCheckpoint);
          break;
        case v1::SUBSCRIPTION_EVENTS:
          for (const auto& pe : msg.events()) {
            if (Status s = wire::assign_from_proto(pe, out.event); !s.is_ok()) {
              ctx.TryCancel();
              reader->Finish();
              return s;
            }
            out.kind = SubscriptionMessage::Kind::kEvent;
            out.position = out.event.position;
            out.version = out.event.version;
            if (!handler(out)) {
              stopped = true;
              break;
            }
          }
          break;
        default:
          break;  // a newer server's message kind: ignore
      }
    }
    if (stopped) {
      ctx.TryCancel();
      reader->Finish();
      return Status::ok();
    }
    grpc::Status finished = reader->Finish();
    Status s = wire::from_grpc(finished, ctx.GetServerTrailingMetadata());
    if (s.is_ok()) return Status::unavailable("the server ended the subscription");
    return s;
  }

  Result<std::vector<std::string>> list_stores() override {
    v1::StoreList resp;
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.cluster->ListStores(&ctx, v1::Empty(), &resp);
    }));
    return std::vector<std::string>(resp.stores().begin(), resp.stores().end());
  }

 private:
  // ---- Transport: endpoints, redirects, retries ----
  std::chrono::system_clock::time_point deadline() const {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  }

  std::shared_ptr<Stubs> stubs_for(const std::string& endpoint) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = stubs_[endpoint];
    if (!slot) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(64 << 20);
      args.SetMaxSendMessageSize(64 << 20);
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
      // gRPC shares subchannels process-wide by default: a new client would inherit another
      // client's reconnect backoff to a node that died and is back, and fail with "connection
      // refused" for seconds while the node serves. Each client keeps its own connections.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      slot = std::make_shared<Stubs>();
      slot->channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
      slot->streams = v1::Streams::NewStub(slot->channel);
      slot->snapshots = v1::Snapshots::NewStub(slot->channel);
      slot->cluster = v1::Cluster::NewStub(slot->channel);
      slot->subscriptions = v1::Subscriptions::NewStub(slot->channel);
      slot->append_sessions = v1::AppendSessions::NewStub(slot->channel);
      slot->persistent = v1::PersistentSubscriptions::NewStub(slot->channel);
    }
    return slot;
  }

  std::shared_ptr<Stubs> current_stubs() { return stubs_for(current_endpoint()); }

  // The multiplexed append session on the current endpoint: a new one when the previous one
  // broke or the client followed the leader elsewhere; nullptr once the client is closing.
  std::shared_ptr<client::AppendMux> mux() {
    const std::string endpoint = current_endpoint();
    auto stubs = stubs_for(endpoint);
    {
      std::lock_guard<std::mutex> lock(async_mu_);
      if (closing_) return nullptr;
    }
    std::lock_guard<std::mutex> lock(mux_mu_);
    if (!mux_ || mux_->broken() || mux_endpoint_ != endpoint) {
      // This may run inside one of the old session's callbacks (a redirect), and its destructor
      // waits for gRPC to finish with it: keep it until the client goes.
      if (mux_) retired_muxes_.push_back(std::move(mux_));
      mux_ = std::make_shared<client::AppendMux>(stubs->append_sessions.get());
      mux_endpoint_ = endpoint;
    }
    return mux_;
  }

  // An asynchronous append and what a redirect needs to send it again. A NotLeader answer
  // naming another node is followed like in call(): the follower ran nothing, so sending the
  // same events (same ids) to the leader is safe. Leader unknown (an election) or any other
  // outcome goes to `done`: the blocking calls are the ones that wait out an election.
  struct AsyncAppend {
    v1::AppendRequest request;  // moved out by each send; rebuilt from `appends` for a redirect
    std::vector<StreamAppend> appends;
    std::optional<AppendCondition> condition;
    AppendCallback done;
    int attempt = 1;
  };

  void send_async(std::shared_ptr<AsyncAppend> pending) {
    const std::string endpoint = current_endpoint();
    auto on_result = [this, pending, endpoint](Result<std::vector<AppendResult>> r) {
      if (!r.is_ok() && redirect_async(r.status(), endpoint, *pending)) return send_async(pending);
      AppendCallback done = std::move(pending->done);
      done(std::move(r));
      finish_async();  // last use of `this`: the destructor may go on once it returns
    };
    if (options_.multiplex_appends) {
      auto session = mux();
      if (!session) return on_result(Status::unavailable("client is closing"));
      session->send(std::move(pending->request), std::move(on_result));
      return;
    }
    struct AsyncCall {
      grpc::ClientContext ctx;
      v1::AppendRequest req;
      v1::AppendResponse resp;
      std::shared_ptr<Stubs> stubs;
    };
    auto call = std::make_shared<AsyncCall>();
    call->req = std::move(pending->request);
    call->stubs = stubs_for(endpoint);
    call->ctx.set_deadline(deadline());
    call->stubs->streams->async()->Append(
        &call->ctx, &call->req, &call->resp,
        [call, on_result = std::move(on_result)](grpc::Status gs) mutable {
          Status s = wire::from_grpc(gs, call->ctx.GetServerTrailingMetadata());
          if (!s.is_ok()) return on_result(s);
          std::vector<AppendResult> out;
          for (const auto& r : call->resp.results()) out.push_back(wire::from_proto(r));
          on_result(std::move(out));
        });
  }

  // Whether to send `pending` again after `s` from `endpoint`; prepares it if so.
  bool redirect_async(const Status& s, const std::string& endpoint, AsyncAppend& pending) {
    if (s.code() != ErrorCode::kNotLeader || pending.attempt >= options_.max_attempts) return false;
    const auto* info = s.not_leader_info();
    if (info == nullptr || info->address.empty() || info->address == endpoint) return false;
    {
      std::lock_guard<std::mutex> lock(async_mu_);
      if (closing_) return false;
    }
    follow_leader(info->address);
    pending.request = build_append(pending.appends, pending.condition);  // same ids
    pending.attempt++;
    return true;
  }

  void finish_async() {
    std::lock_guard<std::mutex> lock(async_mu_);
    if (--async_in_flight_ == 0) async_idle_.notify_all();  // under the lock: see ~GrpcClient
  }

  void follow_leader(const std::string& address) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(endpoints_.begin(), endpoints_.end(), address);
    if (it == endpoints_.end()) {
      endpoints_.push_back(address);
      it = endpoints_.end() - 1;
    }
    current_ = static_cast<size_t>(it - endpoints_.begin());
  }

  // The next endpoint, skipping those in `avoid` unless every endpoint is in it.
  void rotate_endpoint(const std::vector<std::string>& avoid = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t step = 0; step < endpoints_.size(); ++step) {
      current_ = (current_ + 1) % endpoints_.size();
      if (std::find(avoid.begin(), avoid.end(), endpoints_[current_]) == avoid.end()) return;
    }
  }

  // The retry state of one call: attempts, backoff, and the endpoints that refused a
  // connection during it. "NotLeader, leader unknown" (an election is running) costs no
  // attempt while the call's time budget lasts, and neither does "NotLeader" naming a leader
  // this call could not reach: after a leader dies, followers name it until they elect
  // another (up to an election timeout). The client keeps polling the other endpoints
  // instead of giving up in the middle of a failover.
  class Retry {
   public:
    Retry(int max, int64_t budget_ms, int64_t initial_backoff_ms)
        : backoff_ms(initial_backoff_ms),
          max_(std::max(1, max)),
          until_(std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms)) {}
    bool more() const { return used_ < max_; }
    void spent(const Status& last) {
      if (!electing(last) || std::chrono::steady_clock::now() >= until_) ++used_;
    }
    bool electing(const Status& s) const {
      const auto* info = s.not_leader_info();
      return info != nullptr && (info->address.empty() || unreachable_now(info->address));
    }
    bool unreachable_now(const std::string& endpoint) const {
      return std::find(unreachable.begin(), unreachable.end(), endpoint) != unreachable.end();
    }
    void mark_unreachable(const std::string& endpoint) {
      if (!unreachable_now(endpoint)) unreachable.push_back(endpoint);
    }

    int64_t backoff_ms;
    std::vector<std::string> unreachable;

   private:
    int used_ = 0;
    const int max_;
    const std::chrono::steady_clock::time_point until_;
  };
  static constexpr int64_t kElectionPollMs = 50;

  Retry new_retry() const { return Retry(options_.max_attempts, options_.timeout_ms, options_.initial_backoff_ms); }

  // Runs `rpc` against the current endpoint until it succeeds, fails for good, or runs out of
  // attempts. NotLeader is always retried (the follower executed nothing); transport errors
  // and Unavailable only when `safe_to_retry`.
  template <typename Rpc>
  Status call(bool safe_to_retry, Rpc rpc) {
    Status last;
    for (Retry retry = new_retry(); retry.more(); retry.spent(last)) {
      auto stubs = current_stubs();
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline());
      if (options_.require_leader_reads) ctx.AddMetadata("reckon-require-leader", "1");
      grpc::Status gs = rpc(*stubs, ctx);
      last = wire::from_grpc(gs, ctx.GetServerTrailingMetadata());
      if (last.is_ok()) return last;
      if (!retry_after(last, safe_to_retry, retry)) return last;
    }
    return last;
  }

  // Decides whether to retry after `s`, and prepares the next attempt (redirect or backoff).
  bool retry_after(const Status& s, bool safe_to_retry, Retry& retry) {
    if (s.code() == ErrorCode::kNotLeader) {
      const auto* info = s.not_leader_info();
      if (!retry.electing(s) && info && info->address != current_endpoint()) {
        follow_leader(info->address);
        return true;
      }
      // No reachable leader yet: an election is running. Poll the other endpoints at a short
      // fixed interval (no doubling) so the new leader is found within ~50 ms of its election.
      rotate_endpoint(retry.unreachable);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(retry.backoff_ms, kElectionPollMs)));
      return true;
    } else if (s.code() == ErrorCode::kUnavailable && safe_to_retry) {
      retry.mark_unreachable(current_endpoint());
      rotate_endpoint(retry.unreachable);
    } else {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(retry.backoff_ms));
    retry.backoff_ms = std::min(retry.backoff_ms * 2, options_.max_backoff_ms);
    return true;
  }

  template <typename Req, typename Resp>
  Status unary(grpc::Status (v1::Streams::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
               const Req& req, Resp& resp, bool safe_to_retry = true) {
    return call(safe_to_retry, [&](Stubs& s, grpc::ClientContext& ctx) {
      return (s.streams.get()->*method)(&ctx, req, &resp);
    });
  }

  v1::MembershipRequest membership_request(uint64_t node_id) const {
    v1::MembershipRequest req;
    req.set_store(options_.store);
    req.set_node_id(node_id);
    return req;
  }

  // A membership change is sent at most once per endpoint attempt and re-sent only when the
  // server did not run it (see client.h): NotLeader, or no connection at all. The channel is
  // connected before the request goes out, so a transport Unavailable here means "not sent";
  // an Unavailable or Timeout once sent is final.
  Status membership(grpc::Status (v1::Cluster::Stub::*method)(grpc::ClientContext*,
                                                              const v1::MembershipRequest&, v1::Empty*),
                    const v1::MembershipRequest& req) {
    Status last;
    for (Retry retry = new_retry(); retry.more(); retry.spent(last)) {
      auto stubs = current_stubs();
      const auto connect_by = std::chrono::system_clock::now() +
                              std::chrono::milliseconds(std::min<int64_t>(options_.timeout_ms, 2'000));
      if (!stubs->channel->WaitForConnected(connect_by)) {
        last = Status::unavailable("cannot connect to " + current_endpoint() + " (request not sent)");
        retry.mark_unreachable(current_endpoint());
        rotate_endpoint(retry.unreachable);
        std::this_thread::sleep_for(std::chrono::milliseconds(retry.backoff_ms));
        retry.backoff_ms = std::min(retry.backoff_ms * 2, options_.max_backoff_ms);
        continue;  // counts as an attempt
      }
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline());
      v1::Empty resp;
      grpc::Status gs = (stubs->cluster.get()->*method)(&ctx, req, &resp);
      last = wire::from_grpc(gs, ctx.GetServerTrailingMetadata());  // trailers exist only now
      if (last.is_ok()) return last;
      if (!retry_after(last, /*safe_to_retry=*/false, retry)) return last;
    }
    return last;
  }

  template <typename Req, typename Resp>
  Status snapshot_unary(grpc::Status (v1::Snapshots::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                        const Req& req, Resp& resp) {
    return call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return (s.snapshots.get()->*method)(&ctx, req, &resp);
    });
  }

  // Runs a server-streaming read, feeding events to `visitor`. If the connection fails after
  // some events were delivered, the read resumes after the last one (reads are idempotent).
  template <typename Req>
  Status stream_events(Req req,
                       std::unique_ptr<grpc::ClientReader<v1::ReadResponse>> (v1::Streams::Stub::*method)(
                           grpc::ClientContext*, const Req&),
                       const std::function<bool(const Event&)>& visitor,
                       const std::function<void(const v1::ReadResponse&)>& on_last) {
    Status last;
    bool exhausted = false;  // the resume point says nothing is left to read
    for (Retry retry = new_retry(); retry.more(); retry.spent(last)) {
      auto stubs = current_stubs();
      grpc::ClientContext ctx;
      // A bounded read gets the usual deadline; an unbounded stream (export, scan) may run
      // for as long as it delivers.
      if (req.max_count() > 0) ctx.set_deadline(deadline());
      if (options_.require_leader_reads) ctx.AddMetadata("reckon-require-leader", "1");
      auto reader = (stubs->streams.get()->*method)(&ctx, req);
      v1::ReadResponse msg;
      Event e;  // reused, like msg: no allocation per event once the buffers have grown
      bool stopped = false;
      while (!stopped && reader->Read(&msg)) {
        for (const auto& pe : msg.events()) {
          if (Status s = wire::assign_from_proto(pe, e); !s.is_ok()) {
            ctx.TryCancel();
            reader->Finish();
            return s;
          }
          if (!advance_resume_point(req, e)) exhausted = true;
          if (!visitor(e)) {
            stopped = true;
            break;
          }
        }
        if (msg.end() && on_last) on_last(msg);
      }
      if (stopped) {
        ctx.TryCancel();
        reader->Finish();
        return Status::ok();
      }
      grpc::Status finished = reader->Finish();  // trailers are only valid after Finish
      last = wire::from_grpc(finished, ctx.GetServerTrailingMetadata());
      if (last.is_ok()) return last;
      if (exhausted) return Status::ok();  // everything asked for was delivered
      if (!retry_after(last, true, retry)) return last;
    }
    return last;
  }

  // After delivering `e`, a retried request must start just past it. Returns false when
  // nothing is left to read (the count is used up, or a backward read reached the start).
  static bool take_one(uint64_t max_count, auto set_count) {
    if (max_count == 0) return true;  // unlimited
    set_count(max_count - 1);
    return max_count > 1;
  }
  static bool advance_resume_point(v1::ReadAllRequest& req, const Event& e) {
    const bool backward = req.direction() == v1::DIRECTION_BACKWARD;
    req.set_from_position(backward ? e.position - 1 : e.position + 1);
    bool more = take_one(req.max_count(), [&](uint64_t n) { req.set_max_count(n); });
    return more && !(backward && e.position <= 1);
  }
  static bool advance_resume_point(v1::ReadStreamRequest& req, const Event& e) {
    const bool backward = req.direction() == v1::DIRECTION_BACKWARD;
    req.set_from_version(backward ? e.version - 1 : e.version + 1);
    bool more = take_one(req.max_count(), [&](uint64_t n) { req.set_max_count(n); });
    return more && !(backward && e.version <= 0);
  }
  static bool advance_resume_point(v1::ReadIndexRequest& req, const Event& e) {
    const bool backward = req.direction() == v1::DIRECTION_BACKWARD;
    req.set_from_position(backward ? e.position - 1 : e.position + 1);
    bool more = take_one(req.max_count(), [&](uint64_t n) { req.set_max_count(n); });
    return more && !(backward && e.position <= 1);
  }

  Status read_stream_rpc(const std::string& stream_id, const ReadStreamOptions& o,
                         const std::function<bool(const Event&)>& visitor, ReadStreamResult* result) {
    v1::ReadStreamRequest req;
    req.set_store(options_.store);
    req.set_stream_id(stream_id);
    int64_t from = o.from_version;
    if (o.direction == Direction::kBackward && from == kEndVersion) from = -1;
    req.set_from_version(from);
    req.set_max_count(o.max_count);
    req.set_direction(wire::to_proto(o.direction));
    req.set_require_leader(options_.require_leader_reads);
    return stream_events<v1::ReadStreamRequest>(
        req, &v1::Streams::Stub::Read, visitor, [&](const v1::ReadResponse& last) {
          if (!result) return;
          result->last_version = last.last_version();
          result->next_version = last.next_version();
          result->end_of_stream = last.end_of_data();
        });
  }

  void fill_read_all(const ReadAllOptions& o, v1::ReadAllRequest& req) const {
    req.set_store(options_.store);
    Position from = o.from_position;
    if (o.direction == Direction::kBackward && from == kEndPosition) from = 0;
    req.set_from_position(from);
    req.set_max_count(o.max_count);
    req.set_direction(wire::to_proto(o.direction));
    wire::to_proto(o.filter, req.mutable_filter());
    req.set_require_leader(options_.require_leader_reads);
  }

  v1::ReadIndexRequest index_request(const IndexReadOptions& o) const {
    v1::ReadIndexRequest req;
    req.set_store(options_.store);
    Position from = o.from_position;
    if (o.direction == Direction::kBackward && from == kEndPosition) from = 0;
    req.set_from_position(from);
    req.set_max_count(o.max_count);
    req.set_direction(wire::to_proto(o.direction));
    req.set_require_leader(options_.require_leader_reads);
    return req;
  }

  // One page of a position-ordered read ($all or an index): collects the events and the
  // continuation from the last message.
  template <typename Req>
  Result<ReadAllResult> read_page(
      const Req& req, std::unique_ptr<grpc::ClientReader<v1::ReadResponse>> (v1::Streams::Stub::*method)(
                          grpc::ClientContext*, const Req&)) {
    ReadAllResult result;
    if (req.max_count() == 0) return ReadAllResult{{}, req.from_position(), false};
    Status s = stream_events<Req>(
        req, method,
        [&](const Event& e) {
          result.events.push_back(e);
          return true;
        },
        [&](const v1::ReadResponse& last) {
          result.end = last.end_of_data();
          result.next_position = last.next_position();
        });
    if (!s.is_ok()) return s;
    return result;
  }

  // Gives every event without an id one, so that any resend is an idempotent retry.
  // `move_payloads`: the events' strings move into the request (`appends` is not read again).
  void fill_append(std::vector<StreamAppend>& appends, const std::optional<AppendCondition>& condition,
                   v1::AppendRequest* req, bool move_payloads) const {
    req->set_store(options_.store);
    for (auto& a : appends) {
      auto* pa = req->add_appends();
      pa->set_stream_id(a.stream_id);
      pa->set_expected_version(a.expected);
      for (auto& e : a.events) {
        if (!e.event_id) e.event_id = Uuid::v7();
        if (move_payloads) {
          wire::to_proto(std::move(e), pa->add_events());
        } else {
          wire::to_proto(e, pa->add_events());
        }
      }
    }
    if (condition) wire::to_proto(*condition, req->mutable_condition());
  }

  v1::AppendRequest build_append(std::vector<StreamAppend>& appends,
                                 const std::optional<AppendCondition>& condition) const {
    v1::AppendRequest req;
    fill_append(appends, condition, &req, /*move_payloads=*/false);
    return req;
  }

  v1::StreamRequest stream_request(const std::string& stream_id) const {
    v1::StreamRequest req;
    req.set_store(options_.store);
    req.set_stream_id(stream_id);
    req.set_require_leader(options_.require_leader_reads);
    return req;
  }

  v1::PersistentSubscriptionRef ref(const std::string& key, const std::string& name,
                                    const std::string& type) const {
    v1::PersistentSubscriptionRef r;
    r.set_store(options_.store);
    r.set_key(key);
    r.set_name(name);
    r.set_type(type);
    return r;
  }

  Result<Subscription> get_ref(const v1::PersistentSubscriptionRef& r) {
    v1::PersistentSubscription resp;
    RECKON_RETURN_IF_ERROR(call(true, [&](Stubs& s, grpc::ClientContext& ctx) {
      return s.persistent->Get(&ctx, r, &resp);
    }));
    return wire::from_proto(resp);
  }

  static bool looks_like_key(const std::string& s) {
    return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
  }

  // One attach on the current endpoint, until the handler stops, the server ends the stream or
  // the connection breaks. Acks and nacks are written by an AckWriter, packed.
  Status consume_once(const std::string& name_or_key, const ConsumeOptions& o,
                      const std::function<ConsumeAction(const DeliveredEvent&)>& handler,
                      bool& delivered_any, bool& reconnect, std::string& reconnect_to) {
    auto stubs = current_stubs();
    grpc::ClientContext ctx;  // no deadline unless asked: consuming lasts until stopped
    if (o.deadline != std::chrono::system_clock::time_point::max()) ctx.set_deadline(o.deadline);
    auto stream = stubs->persistent->Consume(&ctx);
    struct Unhook {
      ConsumeStopper* s;
      ~Unhook() {
        if (s) s->set_canceller(nullptr);
      }
    } unhook{o.stopper.get()};
    if (o.stopper) o.stopper->set_canceller([&ctx] { ctx.TryCancel(); });
    v1::ConsumeRequest attach;
    auto* a = attach.mutable_attach();
    a->set_store(options_.store);
    if (looks_like_key(name_or_key)) {
      a->set_key(name_or_key);
    } else {
      a->set_name(name_or_key);
    }
    a->set_max_in_flight(o.max_in_flight);
    a->set_accepts_packed_events(true);
    if (!stream->Write(attach)) {
      grpc::Status gs = stream->Finish();
      return wire::from_grpc(gs, ctx.GetServerTrailingMetadata());
    }
    v1::ConsumeResponse msg;
    DeliveredEvent out;
    // Answers go out from their own thread, packed while a write is in flight; answers given
    // outside the handler (ConsumeOptions::answers) join them while this attachment lasts.
    client::AckWriter answers(stream.get());
    auto to_writer = [](ConsumeAction action, Position position) {
      return client::AckWriter::Answer{action == ConsumeAction::kAck    ? client::AckWriter::kAck
                                       : action == ConsumeAction::kSkip ? v1::NACK_SKIP
                                       : action == ConsumeAction::kPark ? v1::NACK_PARK
                                                                        : v1::NACK_RETRY,
                                       position};
    };
    struct UnhookAnswers {
      ConsumeAnswers* a;
      ~UnhookAnswers() {
        if (a) a->set_sink(nullptr);
      }
    } unhook_answers{o.answers.get()};
    if (o.answers) {
      o.answers->set_sink([&answers, to_writer](Position p, ConsumeAction action) {
        if (action == ConsumeAction::kLeave || action == ConsumeAction::kStop) return;
        answers.answer(to_writer(action, p));
      });
    }
    auto end_call = [&](bool graceful) {
      // Graceful: the answers given so far reach the server before it detaches us (a cancel
      // could drop them); what it sent meanwhile is delivered again to someone else.
      if (!answers.flush_and_stop() || !graceful) ctx.TryCancel();
      stream->WritesDone();
      while (stream->Read(&msg)) {
      }
      return stream->Finish();
    };
    while (stream->Read(&msg)) {
      if (msg.has_confirmed()) {
        out.subscription_key = msg.confirmed().key();
        continue;
      }
      if (msg.has_reconnect()) {
        reconnect = true;
        reconnect_to = msg.reconnect().leader_address();
        continue;  // the server finishes the stream next
      }
      if (!msg.has_event()) continue;  // a newer server's message: ignore
      // The event, then those packed with it, each handled as if it had come on its own.
      for (int i = -1; i < msg.packed_size(); ++i) {
        const v1::ConsumeEvent& delivered = i < 0 ? msg.event() : msg.packed(i);
        if (Status s = wire::assign_from_proto(delivered.event(), out.event); !s.is_ok()) {
          end_call(false);
          return s;
        }
        out.attempt = delivered.attempt();
        delivered_any = true;
        ConsumeAction action = handler(out);
        if (action == ConsumeAction::kStop) {
          end_call(true);
          return Status::ok();
        }
        if (action == ConsumeAction::kLeave) continue;
        answers.answer(to_writer(action, out.event.position));
      }
    }
    answers.flush_and_stop();
    stream->WritesDone();
    grpc::Status gs = stream->Finish();
    Status s = wire::from_grpc(gs, ctx.GetServerTrailingMetadata());
    if (s.is_ok() && !reconnect) return Status::unavailable("the server ended the consumer stream");
    return s;
  }

  v1::SnapshotRequest snapshot_request(const std::string& stream_id, std::optional<int64_t> version) const {
    v1::SnapshotRequest req;
    req.set_store(options_.store);
    req.set_stream_id(stream_id);
    if (version) req.set_version(*version);
    return req;
  }

  ClientOptions options_;
  mutable std::mutex mu_;
  std::vector<std::string> endpoints_;
  size_t current_ = 0;
  std::map<std::string, std::shared_ptr<Stubs>> stubs_;
  std::mutex async_mu_;
  std::condition_variable async_idle_;
  size_t async_in_flight_ = 0;  // asynchronous appends whose callback has not returned yet
  bool closing_ = false;
  std::mutex mux_mu_;
  std::string mux_endpoint_;
  std::vector<std::shared_ptr<client::AppendMux>> retired_muxes_;  // replaced sessions
  std::shared_ptr<client::AppendMux> mux_;  // declared last: destroyed before the stubs
};

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(const ClientOptions& options) {
  if (options.endpoints.empty()) return Status::invalid_argument("no server endpoint given");
  for (const auto& e : options.endpoints) {
    if (e.empty() || e.find(':') == std::string::npos) {
      return Status::invalid_argument("endpoint '" + e + "' is not HOST:PORT");
    }
  }
  return std::unique_ptr<Client>(std::make_unique<GrpcClient>(options));
}

}  // namespace reckon
