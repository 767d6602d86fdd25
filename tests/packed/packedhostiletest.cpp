// Hostile packed files (issue 25): what a user relies on when they open an .lqa.h5 from a
// public hub. Each class of crafted file gets its own message, naming the file:
// - nothing outside the file is read: external storage, virtual datasets, soft, external and
//   user-defined links, filters are refused before any data is read, and `unpack` writes
//   nothing (the bytes of the file they point at never reach any output);
// - a small file cannot declare gigabytes: datasets never written or bigger than the file;
// - what the writer writes the reader reads, and the writer refuses the rest with the module
//   named (group size, long names, NUL bytes, bytes that are not UTF-8), leaving no file;
// - a file without modules is refused; bytes that are not UTF-8 never break JSON output.

#include "clirun.h"
#include "core/engine/adapterquantizer.h"
#include "core/io/error.h"
#include "core/packed/packedfile.h"
#include "packedtestdata.h"
#include "tests/fuzz/packedmutations.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <sys/resource.h>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace {

using lqtest::runCli;
using Run = lqtest::CliRun;

constexpr const char* kSecret = "TOP-SECRET-0123456789-do-not-copy";

// A small valid packed adapter: two modules and one non-LoRA tensor.
lq::PackedAdapter smallAdapter()
{
    const lq::Adapter source = packedtest::randomAdapter({{37, 53, 3}, {40, 29, 2}}, 11);
    lq::QuantSettings settings;
    settings.split = lq::SplitRule::Fixed;
    settings.fixedH = 1;
    settings.groupSize = 16;
    lq::PackedAdapter adapter = lq::packAdapter(source, lq::quantizeAdapter(source, settings));
    adapter.otherTensors.push_back(
        {"score.weight", lq::DType::F32, {4, 8}, std::vector<std::byte>(128, std::byte(0x3f))});
    return adapter;
}

// Opens `path` read-write with HDF5 and lets `change` edit it; fails the test if it cannot.
bool editFile(const std::string& path, const std::function<bool(hid_t)>& change)
{
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const lqmut::Id file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    return file.ok() && change(file);
}

bool replaceIn(hid_t file, const char* group, const char* name, const lqmut::Storage& storage)
{
    const lqmut::Id location(H5Gopen2(file, group, H5P_DEFAULT), H5Gclose);
    return location.ok() && lqmut::replaceDataset(location, name, storage);
}

lqmut::Storage storageOf(lqmut::Storage::Kind kind, hsize_t count, const std::string& other = {})
{
    lqmut::Storage storage;
    storage.kind = kind;
    storage.count = count;
    storage.otherFile = other;
    return storage;
}

std::int64_t extentIn(hid_t file, const char* group, const char* name)
{
    const lqmut::Id location(H5Gopen2(file, group, H5P_DEFAULT), H5Gclose);
    return location.ok() ? lqmut::extentOf(location, name) : -1;
}

// An edit of a valid file, given the paths of a secret file and of another packed file.
using Edit = std::function<bool(hid_t file, const std::string& secret, const std::string& other)>;

Edit externalStorage(const char* group, const char* name)
{
    return [=](hid_t f, const std::string& secret, const std::string&) {
        return replaceIn(
            f, group, name,
            storageOf(lqmut::Storage::External, hsize_t(extentIn(f, group, name)), secret));
    };
}

Edit virtualLayout(const char* group, const char* name)
{
    return [=](hid_t f, const std::string&, const std::string& other) {
        lqmut::Storage storage =
            storageOf(lqmut::Storage::Virtual, hsize_t(extentIn(f, group, name)), other);
        storage.otherDataset = std::string(group) + (std::string(group) == "/" ? "" : "/") + name;
        return replaceIn(f, group, name, storage);
    };
}

Edit relink(const char* group, const char* name, lqmut::Link kind)
{
    return [=](hid_t f, const std::string&, const std::string& other) {
        return lqmut::replaceLink(f, group, name, kind, other);
    };
}

Edit filtered(const char* name, unsigned filters)
{
    return [=](hid_t f, const std::string&, const std::string&) {
        lqmut::Storage storage =
            storageOf(lqmut::Storage::Chunked, hsize_t(extentIn(f, "/", name)));
        storage.chunk = std::clamp<hsize_t>(storage.count, 1, 64); // not above the extent
        storage.filters = filters;
        return replaceIn(f, "/", name, storage);
    };
}

std::string errorOf(const std::string& path)
{
    try {
        lq::readPackedAdapter(path);
    } catch (const lq::Error& e) {
        if (e.file() != path)
            return "error names another file: " + std::string(e.what());
        return e.problem();
    }
    return "accepted";
}

long peakRssKiB()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

QStringList filesUnder(const QString& folder)
{
    QStringList files;
    QDirIterator it(folder, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext())
        files << it.next();
    return files;
}

using Change = std::function<void(lq::PackedAdapter&)>;

} // namespace

Q_DECLARE_METATYPE(Edit)
Q_DECLARE_METATYPE(Change)

class PackedHostileTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_valid;  // a valid packed file
    std::string m_secret; // a local file a hostile packed file points at
    std::string m_other;  // another valid packed file (virtual datasets, external links)

    // A copy of the valid file under `name`, edited.
    std::string crafted(const QString& name, const Edit& edit)
    {
        const std::string path = m_dir.filePath(name).toStdString();
        fs::copy_file(m_valid, path, fs::copy_options::overwrite_existing);
        if (!editFile(path, [&](hid_t f) { return edit(f, m_secret, m_other); }))
            return {};
        return path;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_valid = m_dir.filePath("valid.lqa.h5").toStdString();
        lq::writePackedAdapter(m_valid, smallAdapter());
        m_other = m_dir.filePath("other.lqa.h5").toStdString();
        fs::copy_file(m_valid, m_other);
        m_secret = m_dir.filePath("secret.txt").toStdString();
        QFile secret(QString::fromStdString(m_secret));
        QVERIFY(secret.open(QIODevice::WriteOnly));
        for (int i = 0; i < 2000; ++i) // longer than any dataset it stands in for
            secret.write(kSecret);
    }

    void outsideTheFile_data()
    {
        QTest::addColumn<Edit>("edit");
        QTest::addColumn<QString>("expected");
        const QString external =
            "keeps its bytes in another file (external storage); packed files keep all data inside";
        for (const char* name : {"codes", "scales", "zeros", "modules"})
            QTest::addRow("external storage /%s", name)
                << externalStorage("/", name) << QString("dataset '/%1' ").arg(name) + external;
        QTest::addRow("external storage /tensors/0")
            << externalStorage("/tensors", "0") << "dataset '/tensors/0' " + external;
        const QString mapped = "is a virtual dataset that maps other files; packed files keep all "
                               "data inside";
        QTest::addRow("virtual /codes")
            << virtualLayout("/", "codes") << "dataset '/codes' " + mapped;
        QTest::addRow("virtual /tensors/0")
            << virtualLayout("/tensors", "0") << "dataset '/tensors/0' " + mapped;
        const QString hardOnly = "; packed files hold only hard links to objects inside the file";
        QTest::addRow("soft link /codes")
            << relink("/", "codes", lqmut::Link::Soft) << "'/codes' is a soft link" + hardOnly;
        for (const char* group : {"settings", "source", "tensors"})
            QTest::addRow("soft link /%s", group)
                << relink("/", group, lqmut::Link::Soft)
                << QString("'/%1' is a soft link").arg(group) + hardOnly;
        QTest::addRow("dangling soft link /scales") << relink("/", "scales", lqmut::Link::Dangling)
                                                    << "'/scales' is a soft link" + hardOnly;
        QTest::addRow("external link /codes")
            << relink("/", "codes", lqmut::Link::External)
            << "'/codes' is an external link into another file" + hardOnly;
        QTest::addRow("external link /source")
            << relink("/", "source", lqmut::Link::External)
            << "'/source' is an external link into another file" + hardOnly;
        QTest::addRow("external link /tensors/0")
            << relink("/tensors", "0", lqmut::Link::External)
            << "'/tensors/0' is an external link into another file" + hardOnly;
        QTest::addRow("user-defined link /tensors/0")
            << relink("/tensors", "0", lqmut::Link::User)
            << "'/tensors/0' is a user-defined link (type 187)" + hardOnly;
        QTest::addRow("deflate /codes") << filtered("codes", 1)
                                        << "dataset '/codes' is stored through the filter "
                                           "'deflate' (id 1); packed files use no filters";
        QTest::addRow("shuffle /scales")
            << filtered("scales", 2) << "dataset '/scales' is stored through the filter 'shuffle'";
        QTest::addRow("fletcher32 /zeros")
            << filtered("zeros", 4) << "dataset '/zeros' is stored through the filter 'fletcher32'";
    }

    // Refused by name before any data is read, and the secret never appears in the message.
    void outsideTheFile()
    {
        QFETCH(Edit, edit);
        QFETCH(QString, expected);
        const std::string path = crafted("outside.lqa.h5", edit);
        QVERIFY2(!path.empty(), "HDF5 refused the edit");
        const std::string problem = errorOf(path);
        QVERIFY2(QString::fromStdString(problem).contains(expected), problem.c_str());
        QVERIFY(problem.find("TOP-SECRET") == std::string::npos);
    }

    // The layouts the format allows besides the writer's contiguous one read the same data.
    void otherLayoutsAreRead()
    {
        const lq::PackedAdapter valid = lq::readPackedAdapter(m_valid);
        const std::string path = crafted("layouts.lqa.h5", [](hid_t f, auto&, auto&) {
            lqmut::Storage chunked =
                storageOf(lqmut::Storage::Chunked, hsize_t(extentIn(f, "/", "scales")));
            chunked.chunk = 7; // the last chunk is partly outside the extent
            return replaceIn(
                       f, "/", "codes",
                       storageOf(lqmut::Storage::Compact, hsize_t(extentIn(f, "/", "codes")))) &&
                   replaceIn(f, "/", "scales", chunked) &&
                   replaceIn(f, "/tensors", "0", storageOf(lqmut::Storage::Compact, 128));
        });
        QVERIFY(!path.empty());
        const lq::PackedAdapter back = lq::readPackedAdapter(path);
        QCOMPARE(back.modules.size(), valid.modules.size());
        for (std::size_t i = 0; i < back.modules.size(); ++i) {
            QVERIFY(lq::dequantizedA(back.modules[i]) == lq::dequantizedA(valid.modules[i]));
            QVERIFY(lq::dequantizedB(back.modules[i]) == lq::dequantizedB(valid.modules[i]));
        }
        QVERIFY(back.otherTensors[0].bytes == valid.otherTensors[0].bytes);
    }

    // The arbitrary file read of the issue: `unpack` of a packed file whose /codes or
    // /tensors/0 keeps its bytes in a local file exits 1, writes nothing, and the file's bytes
    // appear nowhere; validate and inspect refuse it too.
    void cliRefusesExternalStorage_data()
    {
        QTest::addColumn<QString>("object");
        QTest::addRow("/codes") << "codes";
        QTest::addRow("/tensors/0") << "tensors/0";
    }

    void cliRefusesExternalStorage()
    {
        QFETCH(QString, object);
        const bool tensor = object.startsWith("tensors");
        const std::string path =
            crafted("exfiltrate.lqa.h5",
                    tensor ? externalStorage("/tensors", "0") : externalStorage("/", "codes"));
        QVERIFY(!path.empty());
        const QString file = QString::fromStdString(path);
        const QString out = m_dir.filePath("unpacked");
        for (const char* command : {"unpack", "validate", "inspect"}) {
            QStringList arguments{command, file};
            if (QByteArray(command) == "unpack")
                arguments << "-o" << out;
            else
                arguments << "--json";
            const Run run = runCli(arguments);
            QCOMPARE(run.exitCode, 1);
            QVERIFY2(run.err.contains(
                         ("dataset '/" + object + "' keeps its bytes in another file").toUtf8()),
                     run.err.constData());
            QVERIFY(!run.out.contains("TOP-SECRET") && !run.err.contains("TOP-SECRET"));
        }
        QVERIFY2(filesUnder(out).isEmpty(), qPrintable(filesUnder(out).join(", ")));
    }

    void sizesBoundedByTheFile_data()
    {
        QTest::addColumn<Edit>("edit");
        QTest::addColumn<QString>("expected");
        QTest::addRow("/tensors/0 declares 2^30 bytes")
            << Edit([](hid_t f, auto&, auto&) {
                   const lqmut::Id tensor(H5Oopen(f, "/tensors/0", H5P_DEFAULT), H5Oclose);
                   lqmut::writeStringAttribute(tensor, "shape", "[1073741824]");
                   lqmut::writeStringAttribute(tensor, "dtype", "U8");
                   return replaceIn(f, "/tensors", "0",
                                    storageOf(lqmut::Storage::Unallocated, hsize_t(1) << 30));
               })
            << "dataset '/tensors/0' declares 1073741824 elements of a 1-byte type, more "
               "than the whole file";
        QTest::addRow("/codes never written") << Edit([](hid_t f, auto&, auto&) {
            return replaceIn(
                f, "/", "codes",
                storageOf(lqmut::Storage::Unallocated, hsize_t(extentIn(f, "/", "codes"))));
        }) << "bytes but 0 are stored in the file (the rest was never written";
        QTest::addRow("/tensors/0 never written") << Edit([](hid_t f, auto&, auto&) {
            return replaceIn(f, "/tensors", "0", storageOf(lqmut::Storage::Unallocated, 128));
        }) << "dataset '/tensors/0' declares 128 bytes but 0 are stored";
        QTest::addRow("/scales chunks missing") << Edit([](hid_t f, auto&, auto&) {
            lqmut::Storage storage =
                storageOf(lqmut::Storage::Chunked, hsize_t(extentIn(f, "/", "scales")));
            storage.chunk = 8;
            storage.partial = true; // only the first chunk is written
            return replaceIn(f, "/", "scales", storage);
        }) << "dataset '/scales' declares";
    }

    // A small file cannot make the reader allocate what it declares: refused before reading,
    // with the process's peak memory far below the declared size.
    void sizesBoundedByTheFile()
    {
        QFETCH(Edit, edit);
        QFETCH(QString, expected);
        const std::string path = crafted("bomb.lqa.h5", edit);
        QVERIFY(!path.empty());
        QVERIFY(fs::file_size(path) < 100 * 1024);
        const long before = peakRssKiB();
        const std::string problem = errorOf(path);
        QVERIFY2(QString::fromStdString(problem).contains(expected), problem.c_str());
        QVERIFY2(peakRssKiB() - before < 256 * 1024, "the reader allocated what the file declared");
    }

    void writerRefuses_data()
    {
        QTest::addColumn<Change>("change");
        QTest::addColumn<QString>("expected");
        const auto rename = [](std::string name) {
            return Change([name](lq::PackedAdapter& a) {
                a.modules[1].name = name;
                a.modules[1].keyA = name + ".lora_A.weight";
                a.modules[1].keyB = name + ".lora_B.weight";
            });
        };
        QTest::addRow("group size above the limit") << Change([](lq::PackedAdapter& a) {
            a.settings.groupSize = int(lq::kMaxPackedDimension + 1);
        }) << "the group size 1073741825 is outside 1..1073741824";
        QTest::addRow("70,000-character module name")
            << rename(std::string(70000, 'x'))
            << "(70000 bytes)': the name is 70000 bytes long; a packed file holds names of at "
               "most 65536 bytes";
        QTest::addRow("NUL in a module name")
            << rename(std::string("layer\0one", 9))
            << "module 'layer\\x00one': the name holds a NUL byte";
        // Both read "x" if the writer cut them at the NUL.
        QTest::addRow("names that differ only after a NUL") << Change([](lq::PackedAdapter& a) {
            for (int i = 0; i < 2; ++i) {
                const std::string name = std::string("x\0", 2) + char('a' + i);
                a.modules[std::size_t(i)].name = name;
                a.modules[std::size_t(i)].keyA = name + ".lora_A.weight";
                a.modules[std::size_t(i)].keyB = name + ".lora_B.weight";
            }
        }) << "module 'x\\x00a': the name holds a NUL byte";
        QTest::addRow("NUL in a tensor name")
            << Change([](lq::PackedAdapter& a) { a.modules[0].keyA += std::string("\0x", 2); })
            << "after the module name holds a NUL byte";
        QTest::addRow("module name not UTF-8")
            << rename("caf\xe9") << "the name is not valid UTF-8";
        QTest::addRow("NUL in a non-LoRA tensor's name") << Change([](lq::PackedAdapter& a) {
            a.otherTensors[0].name = std::string("score\0.weight", 13);
        }) << "non-LoRA tensor 'score\\x00.weight': the name holds a NUL byte";
        QTest::addRow("no modules") << Change([](lq::PackedAdapter& a) { a.modules.clear(); })
                                    << "the adapter has no modules; a packed adapter has at "
                                       "least one";
    }

    // What the reader would refuse, the writer refuses first, naming the module, and leaves no
    // file (not even a temporary one).
    void writerRefuses()
    {
        QFETCH(Change, change);
        QFETCH(QString, expected);
        lq::PackedAdapter adapter = smallAdapter();
        change(adapter);
        QTemporaryDir dir;
        const std::string path = dir.filePath("refused.lqa.h5").toStdString();
        try {
            lq::writePackedAdapter(path, adapter);
            QFAIL("written");
        } catch (const lq::Error& e) {
            QCOMPARE(QString::fromStdString(e.file()), QString::fromStdString(path));
            QVERIFY2(QString::fromStdString(e.problem()).contains(expected), e.what());
            QVERIFY(e.problem().size() < 400); // never the whole 70,000-byte name
        }
        QVERIFY(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).isEmpty());
    }

    // Exactly at the limits the file round-trips: a 65536-byte module name.
    void roundTripAtTheLimit()
    {
        lq::PackedAdapter adapter = smallAdapter();
        const std::string name(lq::kMaxPackedNameBytes, 'n');
        adapter.modules[0].name = name;
        adapter.modules[0].keyA = name + ".lora_A.weight";
        adapter.modules[0].keyB = name + ".lora_B.weight";
        const std::string path = m_dir.filePath("limit.lqa.h5").toStdString();
        lq::writePackedAdapter(path, adapter);
        const lq::PackedAdapter back = lq::readPackedAdapter(path);
        QCOMPARE(back.modules[0].name, name);
        QCOMPARE(back.modules[0].keyA, adapter.modules[0].keyA);
        QCOMPARE(back.modules[1].name, adapter.modules[1].name);
    }

    void readerRefusesNames_data()
    {
        QTest::addColumn<Edit>("edit");
        QTest::addColumn<QString>("expected");
        const auto poke = [](hsize_t row, const char* column, std::string bytes) {
            return Edit(
                [=](hid_t f, auto&, auto&) { return lqmut::pokeTable(f, row, column, bytes); });
        };
        QTest::addRow("NUL inside a module name") << poke(0, "name", std::string("abc\0def", 7))
                                                  << "module table row 0: the name 'abc\\x00def";
        QTest::addRow("names equal up to a NUL") << Edit([](hid_t f, auto&, auto&) {
            return lqmut::pokeTable(f, 0, "name", std::string("same\0a", 6)) &&
                   lqmut::pokeTable(f, 1, "name", std::string("same\0b", 6));
        }) << "holds a NUL byte, which a packed file cannot store in a name";
        QTest::addRow("module name not UTF-8")
            << poke(1, "name", "\xff\xfe") << "module table row 1: the name '\xEF\xBF\xBD";
        QTest::addRow("NUL inside a suffix")
            << poke(0, "suffix_a", std::string(".lora\0A", 7)) << "the suffix_a '.lora\\x00A";
        QTest::addRow("NUL inside a tensor name") << Edit([](hid_t f, auto&, auto&) {
            const lqmut::Id tensor(H5Oopen(f, "/tensors/0", H5P_DEFAULT), H5Oclose);
            return lqmut::writeStringAttribute(tensor, "name", std::string("score\0weight", 12));
        }) << "/tensors/0 attribute 'name' holds a NUL byte inside its text";
        QTest::addRow("NUL inside the source path") << Edit([](hid_t f, auto&, auto&) {
            const lqmut::Id source(H5Oopen(f, "/source", H5P_DEFAULT), H5Oclose);
            return lqmut::writeStringAttribute(source, "path", std::string("/a\0/b", 5));
        }) << "source attribute 'path' holds a NUL byte inside its text";
        QTest::addRow("JSON nested 100,000 deep in a tensor's shape")
            << Edit([](hid_t f, auto&, auto&) {
                   const lqmut::Id tensor(H5Oopen(f, "/tensors/0", H5P_DEFAULT), H5Oclose);
                   return lqmut::writeStringAttribute(tensor, "shape", std::string(100000, '['));
               })
            << "/tensors/0 attribute 'shape' nests arrays and objects deeper than 64 levels";
        QTest::addRow("JSON nested 100,000 deep in the source metadata")
            << Edit([](hid_t f, auto&, auto&) {
                   const lqmut::Id source(H5Oopen(f, "/source", H5P_DEFAULT), H5Oclose);
                   return lqmut::writeStringAttribute(source, "safetensors_metadata",
                                                      "{\"k\":" + std::string(100000, '['));
               })
            << "source attribute 'safetensors_metadata' nests arrays and objects deeper than 64";
        QTest::addRow("no modules") << Edit([](hid_t f, auto&, auto&) {
            return replaceIn(f, "/", "modules", storageOf(lqmut::Storage::Contiguous, 0));
        }) << "the module table holds no modules; a packed adapter has at least one";
    }

    // Names are refused, not cut (a cut name renames tensors on unpack).
    void readerRefusesNames()
    {
        QFETCH(Edit, edit);
        QFETCH(QString, expected);
        const std::string path = crafted("names.lqa.h5", edit);
        QVERIFY(!path.empty());
        const std::string problem = errorOf(path);
        QVERIFY2(QString::fromStdString(problem).contains(expected), problem.c_str());
    }

    void badFiles_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("expected");
        const auto row = [](const char* name, const char* expected) {
            QTest::newRow(name) << QString("packed-%1.lqa.h5").arg(name) << QString(expected);
        };
        row("external-storage", "dataset '/codes' keeps its bytes in another file (external "
                                "storage); packed files keep all data inside");
        row("virtual-dataset", "dataset '/scales' is a virtual dataset that maps other files");
        row("soft-link", "'/codes' is a soft link; packed files hold only hard links");
        row("external-link", "'/source' is an external link into another file");
        row("user-link", "'/zeros' is a user-defined link (type 187)");
        row("deflate", "dataset '/codes' is stored through the filter 'deflate' (id 1)");
        row("never-written", "dataset '/codes' declares 10 bytes but 0 are stored in the file");
        row("huge-tensor", "dataset '/tensors/0' declares 1073741824 elements of a 1-byte type, "
                           "more than the whole file");
        row("no-modules", "the module table holds no modules");
        row("nul-in-name", "module table row 0: the name 'base\\x00model.");
        row("close-fails", "the codes 'codes' is not a readable dataset");
        // Found by fuzz_packed: libhdf5 1.10 looped forever inside H5Dopen on this heap.
        row("heap-loop", "the HDF5 global heap at byte 8917 is malformed");
        // Found by fuzz_packed: libhdf5 asks malloc for 16 EB while it reads this file's metadata.
        row("huge-metadata", "the codes 'codes' is not a readable dataset");
        row("name-not-utf8", "module table row 1: the name '\xEF\xBF\xBD\xEF\xBF\xBDse_model");
    }

    // The crafted files of tests/data/bad (make_packed_seeds --bad; external storage and links
    // there name /etc/passwd, as an attacker would).
    void badFiles()
    {
        QFETCH(QString, name);
        QFETCH(QString, expected);
        const std::string path = (QStringLiteral(LQ_TEST_DATA_DIR "/bad/") + name).toStdString();
        QVERIFY2(fs::exists(path), path.c_str());
        const std::string problem = errorOf(path);
        QVERIFY2(QString::fromStdString(problem).contains(expected), problem.c_str());
        QVERIFY(problem.find("root:") == std::string::npos);
    }

    // A damaged object header (found by fuzz_packed) after which libhdf5 cannot close the file:
    // the commands report the error and exit 1; the process used to crash in libhdf5's cleanup
    // at exit (SIGSEGV, status 139) after printing it.
    void damagedHeaderExitsCleanly()
    {
        const QString path = QStringLiteral(LQ_TEST_DATA_DIR "/bad/packed-close-fails.lqa.h5");
        for (const char* command : {"validate", "inspect", "unpack"}) {
            QStringList arguments{command, path};
            if (QByteArray(command) == "unpack")
                arguments << "-o" << m_dir.filePath("never");
            const Run run = runCli(arguments);
            QCOMPARE(run.exitCode, 1);
            QVERIFY2(run.err.contains("is not a readable dataset"), run.err.constData());
        }
        QVERIFY(!QFileInfo::exists(m_dir.filePath("never")));
    }

    // A packed file without modules fails `validate` (it passed, checking nothing).
    // HDF5 opening a FIFO would wait for a writer that never comes.
    void specialFileIsRefused()
    {
        const std::string fifo = m_dir.filePath("fifo.lqa.h5").toStdString();
        QCOMPARE(::mkfifo(fifo.c_str(), 0644), 0);
        const std::string problem = errorOf(fifo);
        QVERIFY2(problem.find("the packed file is a FIFO (named pipe), not a regular file") !=
                     std::string::npos,
                 problem.c_str());
    }

    void validateRefusesNoModules()
    {
        const std::string path = crafted("empty.lqa.h5", [](hid_t f, auto&, auto&) {
            return replaceIn(f, "/", "modules", storageOf(lqmut::Storage::Contiguous, 0));
        });
        QVERIFY(!path.empty());
        const Run run = runCli({"validate", QString::fromStdString(path)});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("holds no modules"), run.err.constData());
    }

    // A source path that is not UTF-8: the writer stores U+FFFD, a file from an older writer
    // holding the raw bytes reads with U+FFFD, and inspect --json / validate --json print JSON.
    void sourcePathNotUtf8()
    {
        lq::PackedAdapter adapter = smallAdapter();
        adapter.source.path = "/models/caf\xe9/adapter";
        const std::string path = m_dir.filePath("latin1.lqa.h5").toStdString();
        lq::writePackedAdapter(path, adapter);
        QCOMPARE(lq::readPackedAdapter(path).source.path,
                 std::string("/models/caf\xEF\xBF\xBD/adapter"));

        const std::string older = crafted("older.lqa.h5", [](hid_t f, auto&, auto&) {
            const lqmut::Id source(H5Oopen(f, "/source", H5P_DEFAULT), H5Oclose);
            return lqmut::writeStringAttribute(source, "path", "/models/caf\xe9/adapter");
        });
        QVERIFY(!older.empty());
        QCOMPARE(lq::readPackedAdapter(older).source.path,
                 std::string("/models/caf\xEF\xBF\xBD/adapter"));
        for (const char* command : {"inspect", "validate"}) {
            const Run run = runCli({command, QString::fromStdString(older), "--json"});
            QVERIFY2(run.exitCode == 0, run.err.constData());
            QJsonParseError error{};
            const QJsonDocument json = QJsonDocument::fromJson(run.out, &error);
            QVERIFY2(error.error == QJsonParseError::NoError, run.out.constData());
            if (QByteArray(command) == "inspect")
                QCOMPARE(json["source"]["path"].toString(),
                         QString::fromUtf8("/models/caf\uFFFD/adapter"));
        }
    }
};

QTEST_GUILESS_MAIN(PackedHostileTest)
#include "packedhostiletest.moc"
