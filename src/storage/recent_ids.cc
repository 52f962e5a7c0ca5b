#include "storage/recent_ids.h"

#include <algorithm>

#include "storage/uuid_hash.h"

namespace reckon::storage {

namespace {
size_t round_up_pow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}
}  // namespace

RecentIds::RecentIds(size_t capacity)
    : ring_(round_up_pow2(capacity < 1 ? 1 : capacity)),
      slots_(ring_.size() * 2),
      used_(ring_.size() * 2, 0) {}

void RecentIds::reset(std::optional<Uuid> floor) {
  floor_ = floor;
  head_ = 0;
  count_ = 0;
  std::fill(used_.begin(), used_.end(), uint8_t{0});
}

size_t RecentIds::slot_of(const Uuid& id) const { return UuidHash()(id) & (slots_.size() - 1); }

bool RecentIds::may_contain(const Uuid& id) const {
  if (!above_floor(id)) return true;
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot_of(id); used_[i] != 0; i = (i + 1) & mask) {
    if (slots_[i] == id) return true;
  }
  return false;
}

void RecentIds::add(const Uuid& id) {
  if (!above_floor(id)) return;  // already covered by the floor
  if (count_ == ring_.size()) {
    // The oldest id leaves the window; the floor rises to cover it.
    const Uuid oldest = ring_[head_];
    erase(oldest);
    if (above_floor(oldest)) floor_ = oldest;
    ring_[head_] = id;
    head_ = (head_ + 1) & (ring_.size() - 1);
  } else {
    ring_[(head_ + count_) & (ring_.size() - 1)] = id;
    ++count_;
  }
  insert(id);
}

void RecentIds::insert(const Uuid& id) {
  const size_t mask = slots_.size() - 1;
  size_t i = slot_of(id);
  for (; used_[i] != 0; i = (i + 1) & mask) {
    if (slots_[i] == id) return;  // added twice: the ring holds it twice, the set once
  }
  slots_[i] = id;
  used_[i] = 1;
}

void RecentIds::erase(const Uuid& id) {
  const size_t mask = slots_.size() - 1;
  size_t i = slot_of(id);
  for (; used_[i] != 0; i = (i + 1) & mask) {
    if (slots_[i] == id) break;
  }
  if (used_[i] == 0) return;  // a second copy of an id added twice, already gone
  used_[i] = 0;
  // Backward-shift deletion: move later entries of the probe run into the hole when their
  // home slot does not lie (cyclically) between the hole and where they are.
  for (size_t j = (i + 1) & mask; used_[j] != 0; j = (j + 1) & mask) {
    const size_t home = slot_of(slots_[j]);
    const bool home_in_hole_to_j = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (home_in_hole_to_j) continue;
    slots_[i] = slots_[j];
    used_[i] = 1;
    used_[j] = 0;
    i = j;
  }
}

}  // namespace reckon::storage
