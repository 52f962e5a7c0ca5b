// ConsistencyChecker: looks at every node's report side by side and names what is wrong with
// the cluster as a whole — split brain, a follower of the wrong leader, divergent membership,
// lost quorum, lagging or unreachable nodes. Pure and deterministic: the same observations in
// any order give the same findings in the same order (most severe first).
// Thread-safety: const methods only; safe to share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "health/finding.h"
#include "health/node_report.h"

namespace reckon::health {

// One node as the prober saw it this round.
struct NodeObservation {
  uint64_t node_id = 0;              // as known before fetching (0 = unknown, e.g. from DNS)
  std::string address;               // where it was asked
  std::optional<NodeReport> report;  // nullopt = unreachable
  std::string error;                 // why, if unreachable

  bool operator==(const NodeObservation&) const = default;
};

struct CheckerOptions {
  uint64_t max_commit_lag = 1000;       // entries behind the leader's commit index
  uint64_t max_applied_lag = 1000;      // entries applied behind the leader's commit index
  uint64_t max_replication_lag = 1000;  // leader's last index minus a member's match index
};

class ConsistencyChecker {
 public:
  explicit ConsistencyChecker(CheckerOptions options = {}) : options_(options) {}

  std::vector<Finding> check(const std::vector<NodeObservation>& observations) const;

 private:
  CheckerOptions options_;
};

}  // namespace reckon::health
