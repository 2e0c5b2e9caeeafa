#include "duractor/cli/transfer.h"

#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/records.h"

namespace duractor::cli {
namespace {

// A view with the record's bytes added.
Json with_record(Json view, std::string_view record) {
  view["record"] = base64(record);
  return view;
}

}  // namespace

Json export_document(const InstanceImage& image, const std::string& source, TimePoint now) {
  Json doc;
  doc["format"] = std::string(kExportFormat);
  doc["version"] = kExportVersion;
  doc["exported_at"] = iso_time(now);
  doc["source"] = source;
  doc["instance"] = with_record(instance_json(image.info), encode_instance(image.info));
  Json executions = Json::array();
  for (const auto& x : image.executions) {
    Json view = with_record(execution_json(x.info), encode_execution(x.info));
    Json events = Json::array();
    for (const auto& e : x.events) events.push_back(with_record(event_json(e), encode_event(e)));
    view["events"] = std::move(events);
    executions.push_back(std::move(view));
  }
  doc["executions"] = std::move(executions);
  Json inbox = Json::array(), work = Json::array(), timers = Json::array();
  for (const auto& m : image.inbox)
    inbox.push_back(with_record(message_json(m), encode_message(m)));
  for (const auto& w : image.work) work.push_back(with_record(work_json(w), encode_work_item(w)));
  for (const auto& t : image.timers) timers.push_back(with_record(timer_json(t), encode_timer(t)));
  doc["inbox"] = std::move(inbox);
  doc["work"] = std::move(work);
  doc["timers"] = std::move(timers);
  doc["topics"] = image.topics;
  return doc;
}

}  // namespace duractor::cli
