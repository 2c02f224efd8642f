"""The casebook: every form of a participant, as site staff enter it and monitors review it."""
