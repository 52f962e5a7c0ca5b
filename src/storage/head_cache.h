// HeadCache: a bounded LRU of committed stream heads, so the apply path rarely reads heads
// from RocksDB. Holds committed state only (StateMachine::commit publishes into it).
// Not thread-safe: used only by the single apply thread of a StateMachine.
#pragma once

#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "storage/records.h"

namespace reckon::storage {

class HeadCache {
 public:
  explicit HeadCache(size_t capacity) : capacity_(capacity) {}

  const StreamHead* find(const std::string& stream) {
    auto it = map_.find(stream);
    if (it == map_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  void put(const std::string& stream, const StreamHead& head) {
    if (capacity_ == 0) return;
    auto it = map_.find(stream);
    if (it != map_.end()) {
      it->second->second = head;
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(stream, head);
    map_.emplace(stream, order_.begin());
    if (map_.size() > capacity_) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  size_t size() const { return map_.size(); }
  // Drops everything: the committed state was replaced underneath (a bulk catch-up).
  void clear() {
    map_.clear();
    order_.clear();
  }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, StreamHead>> order_;
  std::unordered_map<std::string, std::list<std::pair<std::string, StreamHead>>::iterator> map_;
};

}  // namespace reckon::storage
