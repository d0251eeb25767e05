// Threads for calls that block (waiting for admission, computing for seconds), so a transport's
// own threads only ever move bytes. Grows on demand up to max_threads; further tasks wait in
// arrival order. The destructor runs what is queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace quantd::engine {

class Workers {
 public:
  explicit Workers(int max_threads) : max_threads_(max_threads < 1 ? 1 : max_threads) {}
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  void run(std::function<void()> task);

 private:
  void loop();

  const int max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  bool stopping_ = false;
};

}  // namespace quantd::engine
