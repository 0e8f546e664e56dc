"""The thin command-line interface: parse, call one function, print, return an exit code."""
