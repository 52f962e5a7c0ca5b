#include "session.h"

#include <iostream>

namespace reckon::cli {

std::vector<std::string> split_endpoints(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

Session::Session(const GlobalOptions& options)
    : options_(options), out_(options.json, std::cout) {}

ClientOptions Session::client_options() const {
  ClientOptions o;
  o.endpoints = split_endpoints(options_.server);
  o.store = options_.store;
  o.timeout_ms = options_.timeout_ms;
  o.require_leader_reads = options_.require_leader;
  return o;
}

Result<std::unique_ptr<Client>> Session::new_client() const {
  ClientOptions o = client_options();
  if (o.endpoints.empty()) return Status::invalid_argument("--server: no endpoint given");
  return Client::connect(o);
}

Result<Client*> Session::client() {
  if (!client_) {
    auto connected = new_client();
    if (!connected) return connected.status();
    client_ = std::move(connected).value();
  }
  return client_.get();
}

}  // namespace reckon::cli
