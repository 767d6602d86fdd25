#pragma once

#include <QString>

class QWidget;

namespace lq::gui {

// How the window tells the person that something failed, or that something is not available.
// The default shows a window-modal message box without blocking (QMessageBox::open), so that no
// nested event loop runs and tests can find the box and read it.
class ErrorReporter
{
public:
    virtual ~ErrorReporter() = default;
    virtual void error(QWidget* parent, const QString& title, const QString& message) = 0;
    virtual void information(QWidget* parent, const QString& title, const QString& message) = 0;
};

class MessageBoxReporter : public ErrorReporter
{
public:
    void error(QWidget* parent, const QString& title, const QString& message) override;
    void information(QWidget* parent, const QString& title, const QString& message) override;
};

} // namespace lq::gui
