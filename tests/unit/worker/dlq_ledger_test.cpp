// The dead-letter lifecycle's pure parts: entry ids, states, and the pending count the worker's
// gauge reports (Redis and the topic themselves are in tests/e2e/dlq_lifecycle_test.cpp).
#include "worker/dlq_ledger.hpp"

#include <gtest/gtest.h>

namespace stripe_sync::worker {
namespace {

using Offsets = KafkaProducer::PartitionOffsets;

TEST(DlqLedger, StatesReadBackAsWritten) {
  for (DlqState s : {DlqState::pending, DlqState::replayed, DlqState::resolved}) {
    EXPECT_EQ(parse_dlq_state(to_string(s)), s);
  }
  EXPECT_FALSE(parse_dlq_state("done"));
  EXPECT_FALSE(parse_dlq_state(""));
  EXPECT_EQ(dlq_entry_id(3, 1200), "3:1200");
}

TEST(DlqLedger, PendingIsWhatTheTopicHoldsLessWhatWasReplayedAndIsStillHeld) {
  // Partition 0 holds offsets 10..14, partition 1 holds 0..2, partition 12 holds 5..5.
  std::vector<Offsets> spans{{0, 10, 15}, {1, 0, 3}, {12, 5, 6}};
  EXPECT_EQ(pending_count(spans, {}), 9);
  // Replayed entries inside the spans count out; one below the low watermark (retention dropped
  // it) and one of an unknown partition do not; "1:2" must not be read as partition 12's.
  EXPECT_EQ(pending_count(spans, {"0:10", "0:14", "1:2", "0:9", "7:0"}), 6);
  EXPECT_EQ(pending_count(spans, {"12:5"}), 8);
  EXPECT_EQ(pending_count(spans, {"0:15"}), 9) << "the high watermark is the next offset, not an entry";
  EXPECT_EQ(pending_count({}, {"0:1"}), 0);
}

}  // namespace
}  // namespace stripe_sync::worker
