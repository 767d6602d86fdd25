// fuzz_safetensors: arbitrary bytes as adapter_model.safetensors.
//
// Contract under test (issue 2, "bad input"): SafetensorsFile::open and Adapter::load either
// succeed or throw lq::Error naming the file; never a crash, a hang, another exception type or
// an out-of-bounds read. Whatever the reader accepts, the writer must accept and write back with
// the same names, dtypes, shapes, bytes and metadata (writePeftAdapter does exactly this on every
// export), and every tensor the reader hands out must convert without reading past the mapping.

#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/io/safetensors.h"
#include "fuzzinput.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace {

using lqfuzz::scratchFolder;

void checkWriteBack(const lq::SafetensorsFile& file)
{
    std::vector<lq::TensorView> views;
    for (const lq::TensorEntry& entry : file.tensors())
        views.push_back({entry.name, entry.dtype, entry.shape, file.bytes(entry), {}});
    const std::string path = scratchFolder() + "/adapter_model.safetensors";
    lq::writeSafetensorViews(path, views, file.metadata()); // lq::Error here is a finding too
    const lq::SafetensorsFile back = lq::SafetensorsFile::open(path);
    if (back.tensors().size() != file.tensors().size() || back.metadata() != file.metadata())
        lqfuzz::violated("write-back changed the tensor list or the metadata");
    for (std::size_t i = 0; i < file.tensors().size(); ++i) {
        const lq::TensorEntry& a = file.tensors()[i];
        const lq::TensorEntry& b = back.tensors()[i];
        const auto x = file.bytes(a);
        const auto y = back.bytes(b);
        if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape || x.size() != y.size() ||
            (!x.empty() && std::memcmp(x.data(), y.data(), x.size()) != 0))
            lqfuzz::violated("write-back changed a tensor");
    }
}

} // namespace

// One mutation in eight nests the JSON header deeper at a random place inside it (and fixes
// the header length to match); the rest are libFuzzer's own.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t maxSize, unsigned seed)
{
    std::minstd_rand random(seed);
    std::uint64_t length = 0;
    if (size >= 8)
        std::memcpy(&length, data, 8);
    if (size < 8 || length > size - 8 || random() % 8 != 0)
        return LLVMFuzzerMutate(data, size, maxSize);
    const std::size_t at = 8 + std::size_t(random() % (length + 1));
    const std::size_t added = lqfuzz::insertNesting(data, size, maxSize, at, random);
    length += added;
    std::memcpy(data, &length, 8);
    return size + added;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const lqfuzz::MemoryFile input(data, size);
    try {
        const lq::SafetensorsFile file = lq::SafetensorsFile::open(input.path());
        for (const lq::TensorEntry& entry : file.tensors()) {
            // Converting (or, for the types that do not convert, summing the bytes) reads every
            // byte of the range: ASan catches a range past the mapping.
            if (!lq::isFactorType(entry.dtype)) {
                unsigned sum = 0;
                for (const std::byte b : file.bytes(entry))
                    sum += unsigned(b);
                if (file.bytes(entry).size() !=
                    std::uint64_t(entry.elementCount()) * lq::elementSize(entry.dtype))
                    lqfuzz::violated("a tensor's byte count differs from its shape and type");
                volatile unsigned sink = sum;
                (void)sink;
                continue;
            }
            const std::vector<float> values = file.toFloat(entry);
            if (std::int64_t(values.size()) != entry.elementCount())
                lqfuzz::violated("toFloat returned the wrong element count");
        }
        try {
            checkWriteBack(file);
        } catch (const lq::Error& e) {
            std::fprintf(stderr, "write-back failed: %s\n", e.what());
            lqfuzz::violated("the writer refused what the reader accepted");
        }
    } catch (const lq::Error& e) {
        if (e.file() != input.path() || e.problem().empty())
            lqfuzz::violated("an error that does not name the file or the problem");
        return 0; // refused with a clear error: the contract holds; nothing more to load
    }

    try {
        const lq::Adapter adapter = lq::Adapter::load(input.path());
        for (std::size_t i = 0; i < adapter.modules().size(); ++i) {
            const lq::LoraModule& module = adapter.modules()[i];
            const lq::ModuleFactors f = adapter.factors(i);
            if (f.B.rows() != module.m || f.B.cols() != module.r || f.A.rows() != module.r ||
                f.A.cols() != module.n)
                lqfuzz::violated("factors() shapes differ from the module's m, n, r");
            if (!f.A.allFinite() || !f.B.allFinite())
                lqfuzz::violated("a loaded module holds NaN or Inf (load() must refuse it)");
        }
        (void)adapter.storedBytes();
    } catch (const lq::Error& e) {
        if (e.file().empty() || e.problem().empty())
            lqfuzz::violated("an error that does not name the file or the problem");
    }
    return 0;
}
