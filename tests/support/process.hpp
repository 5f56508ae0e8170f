#pragma once
// Child processes for tests that drive the real binaries.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace stripe_sync::test {

class ChildProcess {
 public:
  // Starts `argv` with `env` added to the environment; stdin and stdout are pipes, stderr goes
  // to `stderr_path` (or the test's stderr when empty).
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {},
               std::string stderr_path = {});
  ~ChildProcess();  // SIGKILLs a child still running

  void write_stdin(const std::string& data);
  void close_stdin();
  // One line from stdout (without '\n'), or nullopt at EOF or the deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds deadline);
  std::string read_all_stdout(std::chrono::milliseconds deadline);
  void signal(int sig);
  // Exit status, or nullopt if still running at the deadline.
  std::optional<int> wait(std::chrono::milliseconds deadline);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace stripe_sync::test
