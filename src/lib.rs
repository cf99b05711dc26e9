//! tinyloop
