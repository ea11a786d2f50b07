"""Chat logs: a shop's own export read, checked and turned into the records the metrics read.

    from sim import chatlog
    log = chatlog.read_log("data/sample_log.csv", duty="data/sample_log.duty.csv")
    log.conversations, log.messages     # DataFrames, as the metrics read them
    chatlog.log_metrics(log).values     # platform rates per day and over the whole log

The format is in docs/chat-log.md; `sim.chatlog.format` holds its columns and the format file
(`--columns map.yaml`) that maps a real export's names onto them.
"""

from sim.chatlog.errors import ChatLogError
from sim.chatlog.format import COLUMNS, DUTY_COLUMNS, LogFormat, load_format
from sim.chatlog.log import ChatLog, read_log

__all__ = ["COLUMNS", "DUTY_COLUMNS", "ChatLog", "ChatLogError", "LogFormat", "load_format",
           "read_log"]
