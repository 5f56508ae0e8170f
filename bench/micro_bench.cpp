// Signature verification and envelope reading on a ~2 KB and a ~64 KB event; the worker's extraction
// of a change record from Stripe's example events.
// Run: ./build/release/bench/micro_bench   (see bench/README.md)
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/billing/envelope.hpp"
#include "common/billing/event_extract.hpp"
#include "common/stripe/signature.hpp"
#include "ingress/webhook.hpp"

namespace {

using namespace stripe_sync;

std::string read_file(const std::string& rel) {
  std::ifstream in(std::string(STRIPE_SYNC_FIXTURES_DIR) + "/" + rel, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Stripe's payment_method.updated example (1.7 KB, Stripe's own shape) grown to the target size
// with a metadata object inside data.object, where real events get big.
std::string event_of_size(std::size_t target) {
  std::string body = read_file("events/payment_method.updated.json");
  if (target <= body.size()) return body;
  std::string filler = "\"metadata_bulk\": {";
  for (int i = 0; filler.size() + body.size() + 60 < target; ++i) {
    if (i) filler += ",";
    filler += "\"key_" + std::to_string(i) + "\": \"value value value value value value " +
              std::to_string(i) + "\"";
  }
  filler += "},\n      ";
  auto pos = body.find("\"object\": \"payment_method\"");
  body.insert(pos, filler);
  return body;
}

const std::string kSecret = "whsec_bench_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
constexpr std::int64_t kNow = 1795500000;

void BM_VerifySignature(benchmark::State& state) {
  std::string body = event_of_size(static_cast<std::size_t>(state.range(0)));
  std::vector<std::string> secrets{kSecret};
  std::string header = sign_payload(body, secrets, kNow);
  SignatureVerifier verifier(secrets, 300);
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifier.verify(header, body, kNow));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_VerifySignature)->Arg(2048)->Arg(64 * 1024);

// During a secret roll: two secrets configured, the event signed with the second.
void BM_VerifySignatureRotation(benchmark::State& state) {
  std::string body = event_of_size(2048);
  std::vector<std::string> signer{"whsec_new_secret"};
  std::string header = sign_payload(body, signer, kNow);
  SignatureVerifier verifier({kSecret, "whsec_new_secret"}, 300);
  for (auto _ : state) benchmark::DoNotOptimize(verifier.verify(header, body, kNow));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_VerifySignatureRotation);

void BM_ReadEnvelopeInPlace(benchmark::State& state) {
  std::string body = event_of_size(static_cast<std::size_t>(state.range(0)));
  body.reserve(body.size() + kJsonPadding);  // as the ingress body reader leaves it
  Envelope env;
  for (auto _ : state) {
    benchmark::DoNotOptimize(read_envelope(body, body.capacity(), env));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_ReadEnvelopeInPlace)->Arg(2048)->Arg(64 * 1024);

// The same without padding room: simdjson needs a padded copy first.
void BM_ReadEnvelopeWithCopy(benchmark::State& state) {
  std::string body = event_of_size(static_cast<std::size_t>(state.range(0)));
  body.shrink_to_fit();
  Envelope env;
  for (auto _ : state) benchmark::DoNotOptimize(read_envelope(body, body.size(), env));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ReadEnvelopeWithCopy)->Arg(2048)->Arg(64 * 1024);

// The whole pure part of the webhook route: verify, content type, envelope, key.
void BM_CheckWebhook(benchmark::State& state) {
  std::string body = event_of_size(static_cast<std::size_t>(state.range(0)));
  body.reserve(body.size() + kJsonPadding);
  std::vector<std::string> secrets{kSecret};
  std::string header = sign_payload(body, secrets, kNow);
  SignatureVerifier verifier(secrets, 300);
  ingress::WebhookInput in{header, "application/json", body, body.capacity(), kNow};
  for (auto _ : state) benchmark::DoNotOptimize(ingress::check_webhook(verifier, in));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_CheckWebhook)->Arg(2048)->Arg(64 * 1024);

// The worker's pure step for one event: Stripe's own example, parsed (DOM) into the change record
// it applies (the kind's fields rendered, previous_attributes, the index action).
constexpr const char* kExtractFixtures[] = {"events/customer.subscription.updated.json",
                                            "events/customer.updated.json", "events/invoice.finalized.json"};
void BM_ExtractChange(benchmark::State& state) {
  const char* fixture = kExtractFixtures[state.range(0)];
  const std::string body = read_file(fixture);
  for (auto _ : state) {
    ChangeRecord record;
    benchmark::DoNotOptimize(extract_change(body, record));
    benchmark::DoNotOptimize(record);
  }
  state.SetLabel(fixture);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ExtractChange)->DenseRange(0, 2);

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
