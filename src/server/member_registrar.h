// MemberRegistrar: makes sure the replicated member directory holds this node's client
// address, for every replicated store of the server. A leader records its own address when it
// is elected (store/replicated_log); a follower cannot write, so this asks the leader over gRPC
// (Cluster/RegisterMember) until the directory shows the address. Without it, NotLeader
// answers and `reckon status` on other nodes could not name this node's client address.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/served_store.h"

namespace reckon::server {

class MemberRegistrar {
 public:
  MemberRegistrar(StoreRegistry& stores, std::string client_address);
  ~MemberRegistrar();  // stop()
  void start();
  void stop();

 private:
  void run();
  void check(ServedStore& store);

  StoreRegistry& stores_;
  const std::string client_address_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace reckon::server
