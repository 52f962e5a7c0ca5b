#include "health/consistency_checker.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace reckon::health {
namespace {

std::string join_ids(const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) {
    if (!out.empty()) out += ", ";
    out += std::to_string(id);
  }
  return out;
}

// "node 3 (10.0.0.3:7001)", or "node at 10.0.0.3:7001" for an address nobody has named.
std::string label(uint64_t id, const std::string& address) {
  return id != 0 ? "node " + std::to_string(id) + " (" + address + ")" : "node at " + address;
}

std::vector<uint64_t> voters_of(const NodeReport& r) {
  std::vector<uint64_t> ids;
  for (const MemberReport& m : r.members) {
    if (m.role == MemberRole::kVoter) ids.push_back(m.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

uint64_t behind(uint64_t reference, uint64_t value) {
  return reference > value ? reference - value : 0;
}

// The checks, each appending to `out`; split out so each rule reads on its own.
class Run {
 public:
  Run(const CheckerOptions& options, std::vector<NodeObservation> observations)
      : options_(options), observations_(std::move(observations)) {
    for (NodeObservation& o : observations_) {
      if (o.report) o.node_id = o.report->node_id;  // the node's own word beats discovery's
    }
    std::sort(observations_.begin(), observations_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.node_id, a.address) < std::tie(b.node_id, b.address);
    });
    for (const NodeObservation& o : observations_) {
      if (o.report && o.report->role != NodeRole::kUnavailable) running_.push_back(&*o.report);
    }
    for (const NodeReport* r : running_) {
      if (r->role == NodeRole::kLeader) leaders_by_term_[r->term].push_back(r->node_id);
      max_term_ = std::max(max_term_, r->term);
    }
    // The leader whose view the lag and quorum checks use: the single leader of the highest
    // term. With none (or a split), fall back to the first node of the highest term.
    auto leaders = leaders_by_term_.find(max_term_);
    for (const NodeReport* r : running_) {
      if (r->term != max_term_) continue;
      if (leaders != leaders_by_term_.end() && leaders->second.size() == 1) {
        if (r->node_id == leaders->second.front()) reference_ = r;
      } else if (reference_ == nullptr && !r->members.empty()) {
        reference_ = r;
      }
    }
  }

  std::vector<Finding> findings() {
    unreachable_and_stopped();
    log_writes();
    split_brain();
    leader_mismatch();
    no_leader();
    membership();
    quorum();
    lag();
    std::sort(out_.begin(), out_.end(), [](const Finding& a, const Finding& b) {
      return std::tuple(-static_cast<int>(a.severity), a.code, a.node_ids, a.message) <
             std::tuple(-static_cast<int>(b.severity), b.code, b.node_ids, b.message);
    });
    return std::move(out_);
  }

 private:
  void add(Severity s, FindingCode c, std::vector<uint64_t> ids, std::string message) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    ids.erase(std::remove(ids.begin(), ids.end(), 0u), ids.end());
    out_.push_back({s, c, std::move(ids), std::move(message)});
  }

  void unreachable_and_stopped() {
    for (const NodeObservation& o : observations_) {
      if (!o.report) {
        add(Severity::kWarning, FindingCode::kNodeUnreachable, {o.node_id},
            label(o.node_id, o.address) + " is unreachable" +
                (o.error.empty() ? "" : ": " + o.error));
      } else if (o.report->role == NodeRole::kUnavailable) {
        add(Severity::kWarning, FindingCode::kNodeNotRunning, {o.node_id},
            label(o.node_id, o.address) + " answers but its Raft node is not running");
      }
    }
  }

  void log_writes() {
    for (const NodeObservation& o : observations_) {
      if (!o.report || o.report->log_write_error.empty()) continue;
      add(Severity::kError, FindingCode::kLogWriteFailing, {o.node_id},
          label(o.node_id, o.address) + " cannot write its Raft log (" + o.report->log_write_error +
              "): it stores no new entries; fix the disk, then restart it");
    }
  }

  void split_brain() {
    for (const auto& [term, ids] : leaders_by_term_) {
      if (ids.size() < 2) continue;
      add(Severity::kCritical, FindingCode::kSplitBrain, ids,
          "nodes " + join_ids(ids) + " all claim leadership of term " + std::to_string(term));
    }
  }

  void leader_mismatch() {
    for (const NodeReport* r : running_) {
      if (r->role == NodeRole::kLeader || r->leader_id == 0) continue;
      auto it = leaders_by_term_.find(r->term);
      if (it == leaders_by_term_.end()) continue;
      const std::vector<uint64_t>& claimants = it->second;
      if (std::find(claimants.begin(), claimants.end(), r->leader_id) != claimants.end()) continue;
      std::vector<uint64_t> ids = claimants;
      ids.push_back(r->node_id);
      ids.push_back(r->leader_id);
      add(Severity::kError, FindingCode::kLeaderMismatch, ids,
          "node " + std::to_string(r->node_id) + " follows node " + std::to_string(r->leader_id) +
              " in term " + std::to_string(r->term) + ", but node(s) " + join_ids(claimants) +
              " claim that term");
    }
  }

  void no_leader() {
    if (running_.empty()) return;
    for (const NodeReport* r : running_) {
      if (r->term == max_term_ && (r->role == NodeRole::kLeader || r->leader_id != 0)) return;
    }
    add(Severity::kWarning, FindingCode::kNoLeader, {},
        "no reachable node leads or knows a leader in term " + std::to_string(max_term_));
  }

  void membership() {
    std::map<uint64_t, std::map<std::vector<uint64_t>, std::vector<uint64_t>>> by_term;
    for (const NodeReport* r : running_) {
      if (!r->members.empty()) by_term[r->term][voters_of(*r)].push_back(r->node_id);
    }
    for (const auto& [term, sets] : by_term) {
      if (sets.size() < 2) continue;
      std::string message = "term " + std::to_string(term) + ":";
      std::vector<uint64_t> ids;
      bool first = true;
      for (const auto& [voters, holders] : sets) {
        message += std::string(first ? " " : "; ") + "node(s) " + join_ids(holders) +
                   " have voters {" + join_ids(voters) + "}";
        ids.insert(ids.end(), holders.begin(), holders.end());
        first = false;
      }
      add(Severity::kError, FindingCode::kMembershipDivergent, ids, message);
    }
  }

  void quorum() {
    if (reference_ == nullptr) return;
    std::vector<uint64_t> voters = voters_of(*reference_);
    if (voters.empty()) return;
    std::set<uint64_t> up;
    for (const NodeReport* r : running_) up.insert(r->node_id);
    std::vector<uint64_t> down;
    for (uint64_t v : voters) {
      if (!up.count(v)) down.push_back(v);
    }
    size_t need = voters.size() / 2 + 1;
    size_t have = voters.size() - down.size();
    if (have >= need) return;
    add(Severity::kCritical, FindingCode::kQuorumLost, down,
        "only " + std::to_string(have) + " of " + std::to_string(voters.size()) +
            " voters reachable and running (need " + std::to_string(need) +
            "); down: " + join_ids(down));
  }

  void lag() {
    if (running_.empty()) return;
    bool have_leader = reference_ != nullptr && reference_->role == NodeRole::kLeader;
    uint64_t commit = 0;
    if (have_leader) {
      commit = reference_->commit_index;
    } else {
      for (const NodeReport* r : running_) commit = std::max(commit, r->commit_index);
    }
    std::string source = have_leader ? "leader commit" : "highest commit seen";
    for (const NodeReport* r : running_) {
      // A restarted replica reports libraft's commit index (its snapshot, or 1) until the
      // leader's next message, while its state machine already holds more: whatever it
      // applied was committed.
      uint64_t commit_lag = behind(commit, std::max(r->commit_index, r->applied_index));
      uint64_t applied_lag = behind(commit, r->applied_index);
      if (commit_lag <= options_.max_commit_lag && applied_lag <= options_.max_applied_lag) {
        continue;
      }
      add(Severity::kWarning, FindingCode::kNodeLagging, {r->node_id},
          "node " + std::to_string(r->node_id) + " commit " + std::to_string(r->commit_index) +
              ", applied " + std::to_string(r->applied_index) + " vs " + source + " " +
              std::to_string(commit) + " (lag " + std::to_string(commit_lag) + "/" +
              std::to_string(applied_lag) + ")");
    }
    if (!have_leader) return;
    for (const MemberReport& m : reference_->members) {
      if (!m.match_index || m.id == reference_->node_id) continue;
      uint64_t lag = behind(reference_->last_log_index, *m.match_index);
      if (lag <= options_.max_replication_lag) continue;
      add(Severity::kWarning, FindingCode::kReplicationLag, {m.id},
          "leader " + std::to_string(reference_->node_id) + ": member " + std::to_string(m.id) +
              " matches index " + std::to_string(*m.match_index) + " of " +
              std::to_string(reference_->last_log_index) + " (lag " + std::to_string(lag) + ")");
    }
  }

  const CheckerOptions& options_;
  std::vector<NodeObservation> observations_;
  std::vector<const NodeReport*> running_;  // reachable and running, by node id
  std::map<uint64_t, std::vector<uint64_t>> leaders_by_term_;
  uint64_t max_term_ = 0;
  const NodeReport* reference_ = nullptr;
  std::vector<Finding> out_;
};

}  // namespace

std::vector<Finding> ConsistencyChecker::check(
    const std::vector<NodeObservation>& observations) const {
  return Run(options_, observations).findings();
}

}  // namespace reckon::health
