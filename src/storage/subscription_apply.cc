// StateMachine: the persistent-subscription commands (docs/STORAGE.md, types 9-13). Like the
// stream commands, each checks everything before staging anything, reads through the batch's
// pending subscriptions, and depends only on the command bytes and the committed state.
#include <map>
#include <string>

#include "storage/keys.h"
#include "storage/state_machine.h"

namespace reckon::storage {
namespace {

Status subscription_not_found(std::string_view key) {
  return Status::not_found("subscription '" + std::string(key) + "' not found");
}

}  // namespace

Result<std::optional<Subscription>> StateMachine::load_subscription(const std::string& key, ApplyBatch& b) {
  if (auto it = b.subscriptions_.find(key); it != b.subscriptions_.end()) return it->second;
  if (b.parent_ != nullptr) {
    if (auto it = b.parent_->subscriptions_.find(key); it != b.parent_->subscriptions_.end()) return it->second;
  }
  std::string value;
  auto s = db_.db()->Get(rocksdb::ReadOptions(), db_.cf(Cf::kSubscriptions), key, &value);
  if (s.IsNotFound()) return std::optional<Subscription>();
  RECKON_RETURN_IF_ERROR(from_rocks(s, "reading subscription"));
  Subscription sub;
  RECKON_RETURN_IF_ERROR(decode_subscription(value, sub));
  sub.key = key;
  return std::optional<Subscription>(std::move(sub));
}

void StateMachine::stage_subscription(const Subscription& s, ApplyBatch& b) {
  std::string value;
  encode_subscription(value, s);
  b.batch_.Put(db_.cf(Cf::kSubscriptions), s.key, value);
  b.subscriptions_[s.key] = s;
}

CommandResult StateMachine::apply_create_subscription(const DecodedCommand& c, ApplyBatch& b) {
  CommandResult result;
  const Subscription& proposed = c.subscription;
  if (proposed.key.empty() || proposed.name.empty() || proposed.pool_size == 0) {
    result.status = Status::invalid_argument("a subscription needs a key, a name and pool_size >= 1");
    return result;
  }
  auto existing = load_subscription(proposed.key, b);
  if (!existing) {
    result.status = existing.status();
    return result;
  }
  if (*existing) {
    // Re-attach: same key = same type, selector and name. Pool size and options may change;
    // the checkpoint, start_from and created_us stay.
    Subscription sub = std::move(**existing);
    if (sub.type != proposed.type || sub.selector != proposed.selector || sub.name != proposed.name) {
      result.status = Status(ErrorCode::kAlreadyExists,
                             "subscription key '" + sub.key + "' is taken by a different subscription");
      return result;
    }
    if (sub.pool_size != proposed.pool_size || sub.options != proposed.options) {
      sub.pool_size = proposed.pool_size;
      sub.options = proposed.options;
      stage_subscription(sub, b);
    }
    result.subscription = std::move(sub);
    return result;
  }
  Subscription sub = proposed;
  // kEndPosition = "only new events": resolved here, from the replicated state, so every
  // replica stores the same checkpoint.
  sub.checkpoint = sub.start_from == kEndPosition ? b.state_.last_position : sub.start_from;
  sub.created_us = c.proposed_us;
  stage_subscription(sub, b);
  result.subscription = std::move(sub);
  result.subscription_created = true;
  return result;
}

Status StateMachine::apply_delete_subscription(const DecodedCommand& c, ApplyBatch& b) {
  const std::string key(c.subscription_key);
  RECKON_ASSIGN_OR_RETURN(auto existing, load_subscription(key, b));
  if (!existing) return subscription_not_found(key);
  b.batch_.Delete(db_.cf(Cf::kSubscriptions), key);
  b.batch_.DeleteRange(db_.cf(Cf::kParked), name_prefix(key), name_upper_bound(key));
  b.subscriptions_[key] = std::nullopt;
  return Status::ok();
}

Status StateMachine::apply_checkpoints(const DecodedCommand& c, ApplyBatch& b) {
  // Unknown keys are skipped (the subscription may have been deleted while acks were in
  // flight); a position at or below the stored checkpoint changes nothing.
  // Every read happens before the first write is staged, so a failed read stages nothing; a
  // key named twice keeps its highest position.
  struct Update {
    Subscription sub;
    bool advanced = false;
  };
  std::map<std::string, Update, std::less<>> updates;
  for (const auto& [key, position] : c.checkpoints) {
    auto it = updates.find(key);
    if (it == updates.end()) {
      RECKON_ASSIGN_OR_RETURN(auto existing, load_subscription(std::string(key), b));
      if (!existing) continue;
      it = updates.emplace(std::string(key), Update{std::move(*existing)}).first;
    }
    if (position > it->second.sub.checkpoint) {
      it->second.sub.checkpoint = position;
      it->second.advanced = true;
    }
  }
  for (const auto& [key, u] : updates)
    if (u.advanced) stage_subscription(u.sub, b);
  return Status::ok();
}

Status StateMachine::apply_park(const DecodedCommand& c, ApplyBatch& b) {
  const std::string key(c.subscription_key);
  RECKON_ASSIGN_OR_RETURN(auto existing, load_subscription(key, b));
  if (!existing) return subscription_not_found(key);
  auto* cf = db_.cf(Cf::kParked);
  if (c.type == CommandType::kUnparkEvents) {
    // Positions that are not parked are ignored: unparking is idempotent.
    for (Position p : c.positions) b.batch_.Delete(cf, name_key(key, p));
    return Status::ok();
  }
  for (const auto& p : c.parked) {
    if (p.position == 0) return Status::invalid_argument("parked events need a position >= 1");
  }
  std::string value;
  for (const auto& p : c.parked) {
    value.clear();
    encode_parked(value, p);
    b.batch_.Put(cf, name_key(key, p.position), value);
  }
  return Status::ok();
}

}  // namespace reckon::storage
