// GuardedIo's vote rule (4): one vote per term on disk, and a candidate's own vote in a new term
// is persisted whatever it voted in the term before.
#include "consensus/guarded_io.h"

#include <gtest/gtest.h>

#include "consensus/libraft.h"

namespace reckon::consensus {
namespace {

// A raft_io that keeps only what the metadata file of a disk keeps: the term and the vote.
struct MetadataDisk {
  raft_term term = 0;
  raft_id vote = 0;
  struct raft_io io {};

  MetadataDisk(raft_term t, raft_id v) : term(t), vote(v) {
    io.impl = this;  // GuardedIo takes `data` of the io it wraps
    io.load = [](struct raft_io* io, raft_term* term, raft_id* voted_for,
                 struct raft_snapshot** snapshot, raft_index* start_index,
                 struct raft_entry* entries[], size_t* n_entries) {
      auto* d = static_cast<MetadataDisk*>(io->impl);
      *term = d->term;
      *voted_for = d->vote;
      *snapshot = nullptr;
      *start_index = 1;
      *entries = nullptr;
      *n_entries = 0;
      return 0;
    };
    io.set_term = [](struct raft_io* io, raft_term term) {
      auto* d = static_cast<MetadataDisk*>(io->impl);
      d->term = term;
      d->vote = 0;
      return 0;
    };
    io.set_vote = [](struct raft_io* io, raft_id server_id) {
      static_cast<MetadataDisk*>(io->impl)->vote = server_id;
      return 0;
    };
  }
};

void load(struct raft_io* io) {
  raft_term term = 0;
  raft_id vote = 0;
  struct raft_snapshot* snapshot = nullptr;
  raft_index start = 0;
  struct raft_entry* entries = nullptr;
  size_t n = 0;
  ASSERT_EQ(io->load(io, &term, &vote, &snapshot, &start, &entries, &n), 0);
}

// A GuardedIo over a disk holding `term` and `vote`, loaded as at start-up, with libraft's
// current_term at the disk's term (libraft raises it only after persisting a new term and
// its vote).
struct LoadedGuard {
  MetadataDisk disk;
  GuardedIo guard;
  struct raft r {};
  struct raft_io* io = nullptr;
  LoadedGuard(raft_term term, raft_id vote) : disk(term, vote) {
    io = guard.wrap(&disk.io);
    r.current_term = term;
    io->data = &r;
    load(io);
  }
};

TEST(GuardedIo, ACandidatesOwnVoteInANewTermIsPersistedAfterVotingForAnotherTheTermBefore) {
  LoadedGuard g(4, 2);  // voted for server 2 in term 4
  auto& [disk, guard, r, io] = g;

  // Server 3 starts an election in term 5 and votes for itself.
  ASSERT_EQ(io->set_term(io, 5), 0);
  ASSERT_EQ(io->set_vote(io, 3), 0);
  EXPECT_EQ(disk.term, 5u);
  EXPECT_EQ(disk.vote, 3u) << "a restart would find term 5 without a vote and could vote again";
  EXPECT_EQ(guard.votes_refused(), 0u);
}

TEST(GuardedIo, ASecondVoteInOneTermIsNotPersisted) {
  LoadedGuard g(7, 0);
  auto& [disk, guard, r, io] = g;

  ASSERT_EQ(io->set_vote(io, 2), 0);
  ASSERT_EQ(io->set_vote(io, 2), 0);  // the same vote again is harmless
  EXPECT_EQ(guard.votes_refused(), 0u);
  ASSERT_EQ(io->set_vote(io, 3), 0);
  EXPECT_EQ(disk.vote, 2u);
  EXPECT_EQ(guard.votes_refused(), 1u);

  // A new term clears the vote: voting again there is the first vote of that term.
  ASSERT_EQ(io->set_term(io, 8), 0);
  ASSERT_EQ(io->set_vote(io, 3), 0);
  EXPECT_EQ(disk.vote, 3u);
  EXPECT_EQ(guard.votes_refused(), 1u);
}

TEST(GuardedIo, AVoteLoadedFromDiskCountsForItsTerm) {
  LoadedGuard g(9, 1);  // restarted after voting for server 1 in term 9
  auto& [disk, guard, r, io] = g;

  ASSERT_EQ(io->set_vote(io, 2), 0);
  EXPECT_EQ(disk.vote, 1u);
  EXPECT_EQ(guard.votes_refused(), 1u);
}

}  // namespace
}  // namespace reckon::consensus
