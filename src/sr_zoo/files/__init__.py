"""Bytes on disk: verified downloads and the offline switch (``download``), atomic publishing of files
and folders (``atomic``), image files with one extension table (``images``).

Everything that fetches, checksums, writes or reads an image goes through here, so each of those is done
one way. May import ``sr_zoo.errors`` and ``sr_zoo.interrupts`` only.
"""
