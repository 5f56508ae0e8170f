// ThreadSanitizer and Debian's librdkafka: librdkafka makes its threads, mutexes and condition
// variables with C11 <threads.h>, which glibc implements by calling its internal pthread
// functions directly, past TSan's interceptors. TSan then meets threads it never saw start (and
// crashes in them) and cannot see librdkafka's locking (so it would report races it cannot
// judge). Defining the C11 functions here, in the executable, interposes them for librdkafka.so:
// each forwards to the pthread function TSan intercepts. Linked only into the `tsan` preset.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>
#include <time.h>

#include <new>

namespace {
struct Start {
  thrd_start_t func;
  void* arg;
};

void* trampoline(void* p) {
  Start s = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(s.func(s.arg)));
}

int result(int rc) {
  if (rc == 0) return thrd_success;
  if (rc == ETIMEDOUT) return thrd_timedout;
  if (rc == EBUSY) return thrd_busy;
  if (rc == ENOMEM) return thrd_nomem;
  return thrd_error;
}

pthread_mutex_t* mutex(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* cond(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }
static_assert(sizeof(mtx_t) >= sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) >= sizeof(pthread_cond_t));
}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* s = new (std::nothrow) Start{func, arg};
  if (!s) return thrd_nomem;
  int rc = pthread_create(reinterpret_cast<pthread_t*>(thr), nullptr, trampoline, s);
  if (rc != 0) delete s;
  return result(rc);
}

int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  int rc = pthread_join(static_cast<pthread_t>(thr), &out);
  if (rc == 0 && res) *res = static_cast<int>(reinterpret_cast<intptr_t>(out));
  return result(rc);
}

int thrd_detach(thrd_t thr) { return result(pthread_detach(static_cast<pthread_t>(thr))); }

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  int rc = pthread_mutex_init(mutex(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return result(rc);
}
int mtx_lock(mtx_t* m) { return result(pthread_mutex_lock(mutex(m))); }
int mtx_trylock(mtx_t* m) { return result(pthread_mutex_trylock(mutex(m))); }
int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  return result(pthread_mutex_timedlock(mutex(m), t));
}
int mtx_unlock(mtx_t* m) { return result(pthread_mutex_unlock(mutex(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(mutex(m)); }

int cnd_init(cnd_t* c) { return result(pthread_cond_init(cond(c), nullptr)); }
int cnd_signal(cnd_t* c) { return result(pthread_cond_signal(cond(c))); }
int cnd_broadcast(cnd_t* c) { return result(pthread_cond_broadcast(cond(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return result(pthread_cond_wait(cond(c), mutex(m))); }
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict t) {
  return result(pthread_cond_timedwait(cond(c), mutex(m), t));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(cond(c)); }

void call_once(once_flag* flag, void (*func)(void)) {
  static_assert(sizeof(once_flag) == sizeof(pthread_once_t));
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}

}  // extern "C"
