#include "discovery/seed_list.h"

#include <charconv>
#include <set>
#include <string>

#include "discovery/address.h"

namespace reckon::discovery {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<Peer> parse_entry(std::string_view entry) {
  size_t eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return Status::invalid_argument("seed '" + std::string(entry) + "': expected id=host:port");
  }
  std::string_view id_text = trim(entry.substr(0, eq));
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (id_text.empty() || ec != std::errc() || end != id_text.data() + id_text.size() || id == 0) {
    return Status::invalid_argument("seed '" + std::string(entry) +
                                    "': node id must be a positive integer");
  }
  std::string_view addresses = trim(entry.substr(eq + 1));
  std::string_view raft = addresses;
  std::string_view client;
  if (size_t slash = addresses.find('/'); slash != std::string_view::npos) {
    raft = trim(addresses.substr(0, slash));
    client = trim(addresses.substr(slash + 1));
  }
  Peer peer;
  peer.node_id = id;
  RECKON_ASSIGN_OR_RETURN(HostPort raft_hp, parse_host_port(raft));
  peer.raft_address = format_host_port(raft_hp.host, raft_hp.port);
  if (!client.empty()) {
    RECKON_ASSIGN_OR_RETURN(HostPort client_hp, parse_host_port(client));
    peer.client_address = format_host_port(client_hp.host, client_hp.port);
  }
  return peer;
}

}  // namespace

Result<std::vector<Peer>> parse_seed_list(std::string_view text) {
  std::vector<Peer> peers;
  std::set<uint64_t> ids;
  std::set<std::string> addresses;
  text = trim(text);
  if (text.empty()) return peers;
  while (true) {
    size_t comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    if (entry.empty()) return Status::invalid_argument("seed list: empty entry");
    RECKON_ASSIGN_OR_RETURN(Peer peer, parse_entry(entry));
    if (!ids.insert(peer.node_id).second) {
      return Status::invalid_argument("seed list: node id " + std::to_string(peer.node_id) +
                                      " appears twice");
    }
    if (!addresses.insert(peer.raft_address).second) {
      return Status::invalid_argument("seed list: address " + peer.raft_address + " appears twice");
    }
    peers.push_back(std::move(peer));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return peers;
}

}  // namespace reckon::discovery
