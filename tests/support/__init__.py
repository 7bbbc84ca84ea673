"""What the test directories share: waits, ports, figures, nodes, Go peers, namespaces.

Test modules, conftests and benchmarks import from here, never from another test
directory.
"""
