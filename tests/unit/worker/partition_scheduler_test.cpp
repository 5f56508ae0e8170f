// The worker's partition scheduler without a broker: a fake PartitionControl records what the
// consumer would be asked, and each test decides what applying a batch does.
#include "worker/partition_scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

#include "tests/support/http_client.hpp"  // test::eventually

namespace stripe_sync::worker {
namespace {

using namespace std::chrono_literals;

class FakeControl final : public PartitionControl {
 public:
  void pause(std::int32_t p) override {
    std::lock_guard l(m);
    ++pauses[p];
    paused[p] = true;
  }
  void resume(std::int32_t p) override {
    std::lock_guard l(m);
    ++resumes[p];
    paused[p] = false;
  }
  void commit(std::int32_t p, std::int64_t next) override {
    std::lock_guard l(m);
    commits[p].push_back(next);
  }
  std::int64_t last_commit(std::int32_t p) {
    std::lock_guard l(m);
    return commits[p].empty() ? -1 : commits[p].back();
  }
  std::mutex m;
  std::map<std::int32_t, int> pauses, resumes;
  std::map<std::int32_t, bool> paused;
  std::map<std::int32_t, std::vector<std::int64_t>> commits;
};

QueuedMessage message(std::int32_t partition, std::int64_t offset) {
  QueuedMessage q;
  q.partition = partition;
  q.offset = offset;
  return q;  // no librdkafka message behind it
}

// A gate a test opens to let blocked batches finish.
struct Gate {
  void wait() {
    std::unique_lock l(m);
    cv.wait(l, [&] { return open; });
  }
  void release() {
    std::lock_guard l(m);
    open = true;
    cv.notify_all();
  }
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
};

class PartitionSchedulerTest : public ::testing::Test {
 protected:
  PartitionScheduler& make(PartitionScheduler::ApplyBatch apply, SchedulerOptions options = {}) {
    scheduler_ = std::make_unique<PartitionScheduler>(pool_, control_, std::move(apply), options, metrics_, counters_);
    return *scheduler_;
  }
  ~PartitionSchedulerTest() override {
    pool_.join();  // before the scheduler goes: no drain or timer may outlive it
  }
  double series(const std::string& name) {
    std::string text = registry_.render();
    auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  boost::asio::thread_pool pool_{4};
  FakeControl control_;
  metrics::Registry registry_;
  WorkerMetrics metrics_{registry_};
  WorkerCounters counters_;
  std::unique_ptr<PartitionScheduler> scheduler_;
};

TEST_F(PartitionSchedulerTest, EachPartitionInOrderOneBatchAtATimeAndCommittedAfterIt) {
  std::mutex m;
  std::map<std::int32_t, std::vector<std::int64_t>> applied;
  std::map<std::int32_t, std::atomic<int>> in_flight;
  in_flight[0] = 0;
  in_flight[1] = 0;
  std::atomic<bool> overlapped{false}, committed_early{false};
  SchedulerOptions o;
  o.batch_size = 4;
  auto& s = make(
      [&](const std::vector<const QueuedMessage*>& batch, std::string&) {
        const std::int32_t p = batch.front()->partition;
        if (in_flight[p].fetch_add(1) != 0) overlapped = true;
        // Nothing of this batch may be committed before it is applied.
        if (control_.last_commit(p) > batch.front()->offset) committed_early = true;
        std::this_thread::sleep_for(1ms);  // widen the window an overlap would need
        {
          std::lock_guard l(m);
          for (const auto* q : batch) applied[p].push_back(q->offset);
        }
        in_flight[p].fetch_sub(1);
        return true;
      },
      o);
  const std::int32_t both[] = {0, 1};
  s.assign(both);
  EXPECT_EQ(s.assigned(), 2u);
  for (std::int64_t off = 0; off < 50; ++off) {
    s.enqueue(message(0, off));
    s.enqueue(message(1, 100 + off));
  }
  ASSERT_TRUE(test::eventually([&] { return control_.last_commit(0) == 50 && control_.last_commit(1) == 150; }, 10s));
  EXPECT_FALSE(overlapped);
  EXPECT_FALSE(committed_early);
  std::lock_guard l(m);
  ASSERT_EQ(applied[0].size(), 50u);
  for (std::int64_t i = 0; i < 50; ++i) EXPECT_EQ(applied[0][i], i);
  for (std::int64_t i = 0; i < 50; ++i) EXPECT_EQ(applied[1][i], 100 + i);
  for (auto c : control_.commits[0]) EXPECT_LE(c, 50);  // never past what was applied
  EXPECT_TRUE(s.queues_empty());
}

TEST_F(PartitionSchedulerTest, AFailedBatchPausesBacksOffAndIsRetriedWholeBeforeAnythingIsCommitted) {
  std::atomic<int> attempts{0};
  SchedulerOptions o;
  o.batch_size = 8;
  o.backoff_min = 10ms;
  o.backoff_max = 40ms;
  struct Attempt {
    std::int64_t first, last;
  };
  std::vector<Attempt> seen;
  std::mutex m;
  auto& s = make(
      [&](const std::vector<const QueuedMessage*>& batch, std::string& retry_code) {
        {
          std::lock_guard l(m);
          seen.push_back({batch.front()->offset, batch.back()->offset});
        }
        if (attempts.fetch_add(1) < 3) {
          retry_code = "oom";
          return false;
        }
        return true;
      },
      o);
  const std::int32_t one[] = {3};
  s.assign(one);
  // The first drain may start before all five are queued; what matters is what a retry takes.
  for (std::int64_t off = 0; off < 5; ++off) s.enqueue(message(3, off));
  ASSERT_TRUE(test::eventually([&] { return s.any_backing_off(); }, 5s));
  EXPECT_EQ(control_.last_commit(3), -1);  // nothing durable yet
  ASSERT_TRUE(test::eventually([&] { return control_.last_commit(3) == 5; }, 5s));
  EXPECT_FALSE(s.any_backing_off());
  {
    std::lock_guard l(m);
    ASSERT_GE(seen.size(), 4u);
    // The failed batch is taken again from its first message, whole (never less of it), until
    // it succeeds; only then does the partition move on.
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(seen[i].first, 0) << i;
    for (std::size_t i = 1; i < 4; ++i) EXPECT_GE(seen[i].last, seen[i - 1].last) << i;
    for (std::size_t i = 4; i < seen.size(); ++i) EXPECT_EQ(seen[i].first, seen[i - 1].last + 1) << i;
    EXPECT_EQ(seen.back().last, 4);
  }
  std::lock_guard l(control_.m);
  EXPECT_EQ(control_.pauses[3], 1);
  EXPECT_EQ(control_.resumes[3], 1);
  EXPECT_FALSE(control_.paused[3]);
  for (auto c : control_.commits[3]) EXPECT_GT(c, 0);  // commits only after the success
  EXPECT_EQ(counters_.redis_retries.load(), 3u);
  EXPECT_EQ(series(R"(stripe_worker_redis_retries_total{class="oom"})"), 3);
  EXPECT_EQ(series("stripe_worker_retrying_partitions"), 0);
}

TEST_F(PartitionSchedulerTest, ALongQueuePausesItsPartitionUntilItIsShortAgain) {
  Gate gate;
  SchedulerOptions o;
  o.batch_size = 2;
  o.pause_at_batches = 3;      // 6 queued messages pause
  o.resume_below_batches = 1;  // fewer than 2 resume
  auto& s = make(
      [&](const std::vector<const QueuedMessage*>&, std::string&) {
        gate.wait();
        return true;
      },
      o);
  const std::int32_t one[] = {0};
  s.assign(one);
  for (std::int64_t off = 0; off < 5; ++off) s.enqueue(message(0, off));
  {
    std::lock_guard l(control_.m);
    EXPECT_EQ(control_.pauses[0], 0);
  }
  s.enqueue(message(0, 5));
  {
    std::lock_guard l(control_.m);
    EXPECT_EQ(control_.pauses[0], 1);
    EXPECT_TRUE(control_.paused[0]);
  }
  gate.release();
  ASSERT_TRUE(test::eventually([&] { return control_.last_commit(0) == 6; }, 5s));
  std::lock_guard l(control_.m);
  EXPECT_EQ(control_.resumes[0], 1);
  EXPECT_FALSE(control_.paused[0]);
}

TEST_F(PartitionSchedulerTest, AQueueHoldingItsShareOfTheBytesPausesItsPartition) {
  Gate gate;
  SchedulerOptions o;
  o.batch_size = 2;
  o.pause_at_batches = 100;   // never by count here
  o.max_queued_bytes = 1200;  // two partitions: 600 bytes each
  auto& s = make(
      [&](const std::vector<const QueuedMessage*>&, std::string&) {
        gate.wait();
        return true;
      },
      o);
  const std::int32_t two[] = {0, 1};
  s.assign(two);
  auto sized = [](std::int32_t partition, std::int64_t offset, std::size_t bytes) {
    QueuedMessage q = message(partition, offset);
    q.bytes = bytes;
    return q;
  };
  s.enqueue(sized(0, 0, 250));
  s.enqueue(sized(0, 1, 250));
  s.enqueue(sized(1, 0, 250));  // the other partition's bytes are its own
  {
    std::lock_guard l(control_.m);
    EXPECT_EQ(control_.pauses[0], 0);
    EXPECT_EQ(control_.pauses[1], 0);
  }
  s.enqueue(sized(0, 2, 250));  // 750 of its 600
  {
    std::lock_guard l(control_.m);
    EXPECT_EQ(control_.pauses[0], 1);
    EXPECT_TRUE(control_.paused[0]);
    EXPECT_EQ(control_.pauses[1], 0);
  }
  gate.release();
  // Resumed once its queue is under a quarter of the share again (here: drained).
  ASSERT_TRUE(test::eventually([&] { return control_.last_commit(0) == 3; }, 5s));
  std::lock_guard l(control_.m);
  EXPECT_EQ(control_.resumes[0], 1);
  EXPECT_FALSE(control_.paused[0]);
  EXPECT_EQ(control_.pauses[1], 0);
}

TEST_F(PartitionSchedulerTest, RevokeWaitsForTheBatchInFlightAndAbandonsTheQueue) {
  Gate gate;
  std::atomic<int> started{0};
  SchedulerOptions o;
  o.batch_size = 2;
  auto& s = make(
      [&](const std::vector<const QueuedMessage*>&, std::string&) {
        started++;
        gate.wait();
        return true;
      },
      o);
  const std::int32_t one[] = {7};
  s.assign(one);
  for (std::int64_t off = 0; off < 6; ++off) s.enqueue(message(7, off));
  ASSERT_TRUE(test::eventually([&] { return started.load() == 1; }, 5s));
  std::thread opener([&] {
    std::this_thread::sleep_for(100ms);  // the revoke below must still be waiting then
    gate.release();
  });
  const auto before = std::chrono::steady_clock::now();
  s.revoke(one, std::chrono::steady_clock::now() + 5s);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 90ms);  // it waited for the batch
  opener.join();
  EXPECT_EQ(s.assigned(), 0u);
  EXPECT_EQ(started.load(), 1);  // the queued rest was not applied by us
  // The batch in flight finished after the revoke began: its partition is no longer ours, so
  // nothing is committed for it (the next owner starts from the last commit).
  EXPECT_EQ(control_.last_commit(7), -1);
  s.enqueue(message(7, 6));  // a late message of a revoked partition is dropped
  EXPECT_TRUE(s.queues_empty());
  EXPECT_EQ(series("stripe_worker_assigned_partitions"), 0);
}

TEST_F(PartitionSchedulerTest, AMessageOfAPartitionNotAssignedIsDropped) {
  std::atomic<int> calls{0};
  auto& s = make([&](const std::vector<const QueuedMessage*>&, std::string&) {
    calls++;
    return true;
  });
  s.enqueue(message(9, 0));
  EXPECT_TRUE(s.queues_empty());
  EXPECT_EQ(s.assigned(), 0u);
  const std::int32_t one[] = {9};
  s.assign(one);
  s.enqueue(message(9, 1));
  ASSERT_TRUE(test::eventually([&] { return control_.last_commit(9) == 2; }, 5s));
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace stripe_sync::worker
