#pragma once
// A small pool of blocking Redis connections for threads that may block (the worker's pool, the
// portal's pool). A Lease returns its connection when it goes out of scope. Bounded: at most
// `max_idle` connections are kept between uses; a burst that needed more closes the rest when
// they come back. (The number in use is bounded by the callers' thread pools.)
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "common/redis/redis_client.hpp"

namespace stripe_sync {

class RedisPool {
 public:
  RedisPool(RedisEndpoint endpoint, std::chrono::milliseconds timeout, std::size_t max_idle = 16)
      : endpoint_(std::move(endpoint)), timeout_(timeout), max_idle_(max_idle) {}

  class Lease {
   public:
    Lease(RedisPool& pool, std::unique_ptr<RedisClient> c) : pool_(pool), client_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (client_) pool_.give_back(std::move(client_));
    }
    RedisClient& operator*() { return *client_; }
    RedisClient* operator->() { return client_.get(); }

   private:
    RedisPool& pool_;
    std::unique_ptr<RedisClient> client_;
  };

  Lease acquire() {
    std::lock_guard lock(mutex_);
    if (idle_.empty()) return Lease(*this, std::make_unique<RedisClient>(endpoint_, timeout_));
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(c));
  }

  std::size_t idle_count() const {
    std::lock_guard lock(mutex_);
    return idle_.size();
  }

 private:
  void give_back(std::unique_ptr<RedisClient> c) {
    std::unique_lock lock(mutex_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(std::move(c));
      return;
    }
    lock.unlock();  // closed outside the lock
  }
  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  std::size_t max_idle_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<RedisClient>> idle_;
};

}  // namespace stripe_sync
