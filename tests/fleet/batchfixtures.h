#pragma once

// Adapter trees for the batch tests: varied synthetic adapters (synth --count's variants) and
// the bad inputs a night's batch meets.

#include "core/io/safetensors.h"
#include "core/io/synthesizer.h"

#include <QByteArray>
#include <QFile>
#include <QString>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lqtest {

// "prefix" + n, spelled so that GCC 12 does not warn (-Wrestrict) on the inlined concatenation.
inline std::string numbered(const char* prefix, long long n)
{
    std::string text(prefix);
    text += std::to_string(n);
    return text;
}

// `count` tiny adapters with varied ranks, targets, dtypes and decays under `folder`/team-K/aNN.
inline void writeVariedAdapters(const std::filesystem::path& folder, int count,
                                std::uint64_t seed = 7, int rank = 0)
{
    lq::SynthSettings base;
    base.preset = "tiny";
    base.seed = seed;
    for (int i = 0; i < count; ++i) {
        lq::SynthSettings settings = lq::synthVariant(base, std::uint64_t(i));
        if (rank > 0)
            settings.rank = rank;
        lq::writeSyntheticAdapter(
            (folder / lqtest::numbered("team-", i % 3) / lqtest::numbered("a", 10 + i)).string(),
            settings);
    }
}

// The bad inputs: copies of tests/data/bad (truncated, NaN, a config without tensors) and a
// tensor file with no LoRA pair. Returns how many there are.
inline int writeBadAdapters(const std::filesystem::path& folder, const std::string& dataDir)
{
    namespace fs = std::filesystem;
    fs::create_directories(folder);
    const fs::path bad = fs::path(dataDir) / "bad";
    fs::copy_file(bad / "truncated.safetensors", folder / "truncated.safetensors");
    fs::copy(bad / "nan-values", folder / "nan-values");
    fs::copy(bad / "missing-lora-b", folder / "missing-lora-b");
    fs::copy(bad / "no-adapter", folder / "no-adapter");
    std::vector<std::byte> bytes(4 * 4);
    lq::writeSafetensors((folder / "no-lora.safetensors").string(),
                         {{"classifier.weight", lq::DType::F32, {2, 2}, bytes}},
                         {{"format", "pt"}});
    return 5;
}

inline QByteArray fileBytes(const std::filesystem::path& path)
{
    QFile file(QString::fromStdString(path.string()));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Every packed output under `outdir`, by its path relative to it, with its bytes.
inline std::map<std::string, QByteArray> packedOutputs(const std::filesystem::path& outdir)
{
    std::map<std::string, QByteArray> out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(outdir))
        if (entry.path().string().ends_with(".lqa.h5"))
            out[entry.path().lexically_relative(outdir).generic_string()] = fileBytes(entry.path());
    return out;
}

} // namespace lqtest
