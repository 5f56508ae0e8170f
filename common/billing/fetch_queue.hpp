#pragma once
// The thin path's durable fetch queue in Redis (schemas/redis/fetch_queue.lua): a thin
// notification becomes a request to fetch its related object; one entry per object, so repeats
// coalesce; the fetcher claims due entries with a lease, and an entry leaves the queue only once
// what was fetched is applied (or Stripe says the object is gone). A worker that dies holding a
// lease loses nothing: the entry is due again when the lease ends.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/billing/envelope.hpp"
#include "common/billing/keys.hpp"
#include "common/core/result.hpp"
#include "common/redis/redis_client.hpp"

namespace stripe_sync {

// What to fetch for a thin notification: GET url (with Stripe-Context when context is set).
struct FetchRequest {
  std::string entry;    // the queue's member: one per object ("<context>|<url>")
  std::string url;      // related_object.url, an API path
  std::string context;  // "acct_..." or empty
  std::string id;       // related_object.id
  std::string type;     // related_object.type (customer, subscription, checkout.session, ...)
  std::string notification;  // the notification's id: enqueued once (not part of the entry)
  std::string json() const;
  static std::optional<FetchRequest> from_json(std::string_view text);
};

// What FetchRequest::type says when the request is for the notification's own event
// (GET /v2/core/events/{id}): its type names no related object, and the event says what changed.
inline constexpr std::string_view kFetchEventType = "v2.core.event";

// The fetch a thin notification asks for: its related object when that is a kind we keep; the
// event itself for the entitlement notifications, which name no related object; else nullopt.
std::optional<FetchRequest> fetch_request_of(const Envelope& thin);

struct ClaimedFetch {
  FetchRequest request;
  std::string seq;   // notifications counted when claimed (done() compares it)
  int attempts = 0;  // failed fetches in a row before this one
};

class FetchQueue {
 public:
  FetchQueue(RedisClient& redis, Keys keys) : redis_(redis), keys_(std::move(keys)) {}

  // The commands of an enqueue, to pipeline with others (EVALSHA fetch_queue.lua). Its reply: the
  // entry's notification count (1 new, more coalesced), or 0 when r.notification was already
  // queued within notification_ttl_s (DEDUPE_TTL_S).
  std::vector<std::string> enqueue_command(const FetchRequest& r, std::int64_t now_ms,
                                           std::int64_t notification_ttl_s) const;
  Result<std::vector<ClaimedFetch>> claim(std::int64_t now_ms, std::int64_t lease_ms, int n);
  // True: the entry left the queue; false: notified again since the claim, due again now.
  Result<bool> done(const ClaimedFetch& c, std::int64_t now_ms);
  Result<std::int64_t> retry(const ClaimedFetch& c, std::int64_t due_ms);
  // Entries queued, and the first-queued time of the oldest (0 when empty).
  Result<std::pair<std::int64_t, std::int64_t>> depth_and_oldest();

 private:
  Result<RedisValue> call(std::vector<std::string> args);
  RedisClient& redis_;
  Keys keys_;
};

}  // namespace stripe_sync
