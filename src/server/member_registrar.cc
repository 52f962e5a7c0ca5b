#include "server/member_registrar.h"

#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "reckon/v1/reckon.grpc.pb.h"

namespace reckon::server {

MemberRegistrar::MemberRegistrar(StoreRegistry& stores, std::string client_address)
    : stores_(stores), client_address_(std::move(client_address)) {}

MemberRegistrar::~MemberRegistrar() { stop(); }

void MemberRegistrar::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "registrar");
    run();
  });
}

void MemberRegistrar::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemberRegistrar::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    for (const auto& store : stores_.all()) {
      if (store->config.mode == "cluster" && store->store->replication() != nullptr) check(*store);
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
  }
}

void MemberRegistrar::check(ServedStore& store) {
  Replication& replication = *store.store->replication();
  LeadershipChange leader = store.leadership();
  // The leader registers itself; with no known leader there is nobody to ask yet.
  if (leader.is_leader || leader.leader_id == 0) return;
  auto directory = replication.member_directory();
  auto own = directory.find(replication.node_id());
  if (own != directory.end() && own->second == client_address_) return;  // registered
  auto leader_entry = directory.find(leader.leader_id);
  if (leader_entry == directory.end() || leader_entry->second.empty()) return;  // not known yet
  const std::string leader_address = leader_entry->second;
  auto stub = v1::Cluster::NewStub(grpc::CreateChannel(leader_address, grpc::InsecureChannelCredentials()));
  v1::MembershipRequest request;
  request.set_store(store.config.store_id);
  request.set_node_id(replication.node_id());
  request.set_address(client_address_);
  v1::Empty reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::Status s = stub->RegisterMember(&ctx, request, &reply);
  if (s.ok()) {
    spdlog::info("store '{}': registered client address {} with leader {} ({})", store.config.store_id,
                 client_address_, leader.leader_id, leader_address);
  } else {
    spdlog::debug("store '{}': registering with leader {} failed: {}", store.config.store_id,
                  leader_address, s.error_message());
  }
}

}  // namespace reckon::server
