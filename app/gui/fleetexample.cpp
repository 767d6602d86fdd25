#include "fleetexample.h"

#include "core/io/atomicfile.h"
#include "core/io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

namespace lq::gui {

std::vector<lq::BatchRecord> exampleBatchRecords(int count, std::uint64_t seed)
{
    struct Base
    {
        const char* name;
        int layers;
        int hidden;
        int intermediate;
    };
    static const Base bases[] = {{"meta-llama/Llama-2-7b-hf", 32, 4096, 11008},
                                 {"mistralai/Mistral-7B-v0.1", 32, 4096, 14336},
                                 {"meta-llama/Llama-2-13b-hf", 40, 5120, 13824}};
    static const char* const failures[] = {
        "adapter_model.safetensors: the file is truncated: its header describes 33554432 bytes "
        "of tensor data but only 1048576 follow the header",
        "adapter_model.safetensors: module base_model.model.model.layers.3.self_attn.q_proj: "
        "lora_A contains NaN",
        "adapter_model.safetensors: no LoRA pairs (lora_A with lora_B) in the file"};
    std::mt19937_64 random(seed);
    // Uniform in [0, 1) from the generator's bits, the same on every standard library.
    const auto uniform = [&random] { return double(random() >> 11) * 0x1.0p-53; };

    std::vector<lq::BatchRecord> records;
    records.reserve(std::size_t(std::max(0, count)));
    for (int i = 0; i < count; ++i) {
        lq::BatchRecord record;
        char name[64];
        std::snprintf(name, sizeof name, "customer-%04d/task-%02d", i / 4, i % 4);
        record.relative = name;
        record.input = std::string("/data/adapters/") + name;
        record.output = record.relative + ".lqa.h5";
        const Base& base = bases[random() % 3];
        record.baseModel = base.name;
        const int rank = 8 << (random() % 3);
        const bool allLinear = random() % 2 == 0;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random()));
        record.sha256 = std::string(hex) + hex + hex + hex;
        if (uniform() < 0.025) {
            record.status = lq::BatchStatus::Failed;
            record.error = record.input + "/" + failures[random() % 3];
            record.seconds = 0.05 + 0.1 * uniform();
            record.output.clear();
            records.push_back(std::move(record));
            continue;
        }
        const std::int64_t perLayer =
            allLinear
                ? std::int64_t(rank) * (4 * 2 * base.hidden + 3 * (base.hidden + base.intermediate))
                : std::int64_t(rank) * 2 * 2 * base.hidden;
        record.modules = base.layers * (allLinear ? 7 : 2);
        record.loraParameters = perLayer * base.layers;
        record.bytesBefore = record.loraParameters * 2; // F16
        record.bitsPaper = 1.35 + 0.9 * uniform();
        record.bitsTrue = record.bitsPaper + 0.08 + 0.04 * uniform();
        record.bytesAfter =
            std::int64_t(double(record.loraParameters) * record.bitsTrue / 8.0) + 65536;
        // Error falls with bits as on the paper's curves, with adapter-to-adapter spread.
        record.relError =
            0.42 * std::exp(-1.1 * (record.bitsPaper - 1.0)) * (0.8 + 0.4 * uniform());
        record.seconds = 2.0 + 6.0 * uniform();
        record.settings = {{"rho", 0.9}, {"bits_high", 3}, {"group_size", 128}};
        if (uniform() < 0.03)
            record.status = lq::BatchStatus::Skipped;
        records.push_back(std::move(record));
    }
    return records;
}

void writeTinyAdapter(const std::string& folder, int modules, const std::string& baseModel,
                      std::uint64_t seed)
{
    constexpr int kWidth = 16, kRank = 2;
    std::mt19937_64 random(seed);
    std::vector<lq::TensorData> tensors;
    const auto factor = [&](const std::string& name, std::int64_t rows, std::int64_t columns) {
        lq::TensorData tensor{name, lq::DType::F16, {rows, columns}, {}};
        for (std::int64_t i = 0; i < rows * columns; ++i) {
            // Small float16 values (exponent 0x3000 range), never Inf or NaN.
            const auto half = std::uint16_t(0x2c00 + (random() & 0x03ff));
            tensor.bytes.push_back(std::byte(half & 0xff));
            tensor.bytes.push_back(std::byte(half >> 8));
        }
        tensors.push_back(std::move(tensor));
    };
    for (int layer = 0; layer < modules; ++layer) {
        const std::string prefix =
            "base_model.model.model.layers." + std::to_string(layer) + ".self_attn.q_proj";
        factor(prefix + ".lora_A.weight", kRank, kWidth);
        factor(prefix + ".lora_B.weight", kWidth, kRank);
    }
    std::filesystem::create_directories(folder);
    lq::writeSafetensors(folder + "/adapter_model.safetensors", tensors, {});
    lq::writeFileAtomically(folder + "/adapter_config.json",
                            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, "
                            "\"target_modules\": [\"q_proj\"], \"base_model_name_or_path\": \"" +
                                baseModel + "\"}\n");
}

void writeBatchSummary(const std::string& outdir, const std::vector<lq::BatchRecord>& records)
{
    std::string text;
    for (const lq::BatchRecord& record : records)
        text += lq::batchRecordLine(record) + '\n';
    lq::writeFileAtomically(outdir + "/" + lq::batchSummaryFileName(), text);
}

} // namespace lq::gui
