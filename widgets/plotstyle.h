#pragma once

#include <QColor>

// Colours shared by the plots so that "high precision", "low precision" and "selected" mean the
// same thing in every view (colour-blind safe: Dark2 / Okabe-Ito hues).
namespace lq::widgets::style {

inline QColor highPrecision()
{
    return QColor(0xd9, 0x5f, 0x02);
} // orange
inline QColor lowPrecision()
{
    return QColor(0x8c, 0x9d, 0xb5);
} // grey-blue
inline QColor energy()
{
    return QColor(0x1b, 0x9e, 0x77);
} // green
inline QColor marker()
{
    return QColor(0x22, 0x22, 0x22);
}
inline QColor bars()
{
    return QColor(0x4c, 0x72, 0xb0);
} // blue
inline QColor selected()
{
    return QColor(0xd9, 0x5f, 0x02);
} // orange, as high precision
inline QColor reference1()
{
    return QColor(0xc4, 0x2e, 0x6f);
} // magenta
inline QColor reference2()
{
    return QColor(0x55, 0x55, 0x55);
} // dark grey

} // namespace lq::widgets::style
