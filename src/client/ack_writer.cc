#include "client/ack_writer.h"

namespace reckon::client {

AckWriter::AckWriter(Stream* stream) : stream_(stream), thread_([this] { run(); }) {}

AckWriter::~AckWriter() { flush_and_stop(); }

void AckWriter::answer(Answer a) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_) return;  // the reader learns of the broken stream from its next Read
    queue_.push_back(a);
  }
  cv_.notify_one();
}

bool AckWriter::flush_and_stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return !broken_;
}

void AckWriter::run() {
  std::vector<Answer> batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left to write
    batch.swap(queue_);
    lock.unlock();
    bool ok = true;
    for (const auto& request : pack(batch)) {
      if (!(ok = stream_->Write(request))) break;
    }
    batch.clear();
    lock.lock();
    if (!ok) {
      broken_ = true;
      queue_.clear();
      return;
    }
  }
}

std::vector<v1::ConsumeRequest> AckWriter::pack(const std::vector<Answer>& answers) {
  std::vector<v1::ConsumeRequest> out;
  int current = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    const Answer& a = answers[i];
    if (i == 0 || a.action != current) {
      current = a.action;
      out.emplace_back();
      if (a.action != kAck) out.back().mutable_nack()->set_action(static_cast<v1::NackAction>(a.action));
    }
    if (a.action == kAck) {
      out.back().mutable_ack()->add_positions(a.position);
    } else {
      out.back().mutable_nack()->add_positions(a.position);
    }
  }
  return out;
}

}  // namespace reckon::client
