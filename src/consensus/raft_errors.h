// Translation of libraft error codes (RAFT_NOTLEADER, RAFT_IOERR, ...) into reckon::Status, in
// one place. The mapping is written down in docs/CONSENSUS.md ("Errors").
#pragma once

#include <string_view>

#include "consensus/node_state.h"
#include "reckon/status.h"

struct raft;

namespace reckon::consensus {

// `what` names the failed operation ("raft_apply"); `detail` is libraft's errmsg, if any.
Status raft_error_status(int raft_code, std::string_view what, std::string_view detail = {});

// NotLeader with the leader this node currently knows of (0/"" if none).
Status not_leader_status(struct raft* r);

// libraft role code <-> MemberRole.
int to_raft_role(MemberRole role);
MemberRole from_raft_role(int raft_role);

}  // namespace reckon::consensus
