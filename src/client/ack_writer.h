// AckWriter: the answers (acks and nacks) of one persistent-subscription consumer stream,
// written by their own thread so the consuming thread goes straight back to reading. Answers
// given while a write is in flight go out together in the next message (one ConsumeAck or
// ConsumeNack per run of equal actions, in the order they were given), so a consumer that keeps
// up sends one message per write instead of one per event, and a slow one adds no delay.
// Thread-safety: answer() from any thread; flush_and_stop() (idempotent; the destructor calls
// it) from the consuming thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "reckon/v1/reckon.grpc.pb.h"

namespace reckon::client {

class AckWriter {
 public:
  using Stream = grpc::ClientReaderWriterInterface<v1::ConsumeRequest, v1::ConsumeResponse>;

  struct Answer {
    int action;  // -1 = ack, otherwise a v1::NackAction
    uint64_t position;
  };
  static constexpr int kAck = -1;

  explicit AckWriter(Stream* stream);
  ~AckWriter();  // flush_and_stop() if not done yet

  void answer(Answer a);
  // Writes what is queued, then stops the thread. False if a write failed (the stream broke).
  // Answers given after it are dropped.
  bool flush_and_stop();

 private:
  void run();
  // Groups consecutive answers with the same action into one request each.
  static std::vector<v1::ConsumeRequest> pack(const std::vector<Answer>& answers);

  Stream* stream_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Answer> queue_;
  bool stopping_ = false;
  bool broken_ = false;
  std::thread thread_;
};

}  // namespace reckon::client
