// spop-load: a load generator speaking SPOP to an agent the way HAProxy does.
// See --help and options.cc for the flags.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "bench/spop_load/clock.h"
#include "bench/spop_load/counters.h"
#include "bench/spop_load/cpu_time.h"
#include "bench/spop_load/options.h"
#include "bench/spop_load/worker.h"

namespace {

using keymux::bench::Counters;
using keymux::bench::Options;

// Sleeps until `deadline`, or less if every worker has already finished
// (e.g. no connection could be opened).
void sleep_until_ns(std::uint64_t deadline, const std::atomic<int>& running) {
  for (std::uint64_t now = keymux::bench::now_ns(); now < deadline; now = keymux::bench::now_ns()) {
    if (running.load() == 0) return;
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::min<std::uint64_t>(deadline - now, 10'000'000u)));
  }
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool exit_now = false;
  if (const int rc = keymux::bench::parse_options(argc, argv, options, exit_now); exit_now) {
    return rc;
  }
  std::signal(SIGPIPE, SIG_IGN);

  keymux::bench::Timeline time;
  time.start = keymux::bench::now_ns();
  time.measure_from = time.start + static_cast<std::uint64_t>(options.warmup * 1e9);
  time.measure_to = time.measure_from + static_cast<std::uint64_t>(options.duration * 1e9);
  time.drain_to = time.measure_to + 2'000'000'000u;

  std::vector<std::unique_ptr<keymux::bench::Worker>> workers;
  for (int t = 0; t < options.threads; ++t) {
    workers.push_back(std::make_unique<keymux::bench::Worker>(t, options.threads, options, time));
  }
  std::atomic<int> running(options.threads);
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w, &running] {
      w->run();
      --running;
    });
  }

  sleep_until_ns(time.measure_from, running);
  const std::uint64_t own_before = keymux::bench::own_cpu_ns();
  std::optional<std::uint64_t> agent_before;
  if (options.agent_pid > 0) agent_before = keymux::bench::process_cpu_ns(options.agent_pid);
  sleep_until_ns(time.measure_to, running);
  const std::uint64_t own_after = keymux::bench::own_cpu_ns();
  std::optional<std::uint64_t> agent_after;
  if (options.agent_pid > 0) agent_after = keymux::bench::process_cpu_ns(options.agent_pid);

  for (auto& t : threads) t.join();
  Counters total;
  for (auto& w : workers) total.merge(w->counters());

  const double seconds = options.duration;
  const double rate = static_cast<double>(total.measured) / seconds;
  std::printf("%.0f decisions/s\n", rate);
  std::printf("latency p50 %.1f us, p99 %.1f us, p999 %.1f us\n",
              us(total.latency.percentile(0.50)), us(total.latency.percentile(0.99)),
              us(total.latency.percentile(0.999)));
  std::printf("sent %llu, acked %llu, errors %llu\n", static_cast<unsigned long long>(total.sent),
              static_cast<unsigned long long>(total.acked),
              static_cast<unsigned long long>(total.errors));
  if (options.rate > 0) {
    std::printf("open loop at %.0f decisions/s (latency from each frame's scheduled time)",
                options.rate);
  } else {
    std::printf("closed loop");
  }
  std::printf(
      ", %d connections x depth %d, %d generator thread(s), %.2f s measured after %.2f s "
      "warmup; latency mean %.1f us, max %.1f us\n",
      options.connections, options.depth, options.threads, seconds, options.warmup,
      total.latency.mean() / 1000.0, us(total.latency.max()));
  if (options.rate > 0) {
    std::printf(
        "generator send lag (write time - scheduled time) p50 %.1f us, p99 %.1f us, "
        "p999 %.1f us\n",
        us(total.send_lag.percentile(0.50)), us(total.send_lag.percentile(0.99)),
        us(total.send_lag.percentile(0.999)));
  }
  if (total.measured > 0) {
    const auto per = [&](std::uint64_t ns) { return us(ns) / static_cast<double>(total.measured); };
    std::printf("generator cpu %.2f us/decision (%.0f%% of one core)\n",
                per(own_after - own_before),
                100.0 * static_cast<double>(own_after - own_before) / (seconds * 1e9));
    if (agent_before && agent_after) {
      std::printf("agent cpu %.2f us/decision (%.0f%% of one core, pid %d)\n",
                  per(*agent_after - *agent_before),
                  100.0 * static_cast<double>(*agent_after - *agent_before) / (seconds * 1e9),
                  options.agent_pid);
    } else if (options.agent_pid > 0) {
      std::printf("agent cpu: cannot read /proc/%d/stat\n", options.agent_pid);
    }
  }
  if (total.unanswered > 0) {
    std::printf("unanswered %llu\n", static_cast<unsigned long long>(total.unanswered));
  }
  if (total.disconnects > 0) {
    std::printf("agent disconnects %llu\n", static_cast<unsigned long long>(total.disconnects));
  }
  const bool ok = total.errors == 0 && total.disconnects == 0 && total.measured > 0;
  if (!ok) {
    std::fprintf(stderr, "spop-load: FAILED: %llu errors, %llu agent disconnects, %llu measured\n",
                 static_cast<unsigned long long>(total.errors),
                 static_cast<unsigned long long>(total.disconnects),
                 static_cast<unsigned long long>(total.measured));
  }
  return ok ? 0 : 1;
}
