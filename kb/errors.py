"""One exception tree for the whole project.

PolicyQAError                    base; ``user_message`` is shown to people (Chinese)
├── ConfigError                  bad or missing settings / model paths
├── IngestError                  a file could not be turned into a document
│   ├── UnsupportedFile          unknown type, or content that is not what its name says
│   └── EmptyDocument            readable, but no text / no chunks
├── StoreError                   the knowledge base on disk is missing or damaged
├── ToolError                    a calculation tool got arguments it cannot use
│   └── NotInKnowledgeBase       the asked thing is not in the knowledge base
└── BadQuestion                  empty, huge or unreadable question
"""

from __future__ import annotations


class PolicyQAError(Exception):
    user_message = "系统出错，请稍后再试。"

    def __init__(self, message: str = "", user_message: str | None = None):
        super().__init__(message or self.user_message)
        if user_message is not None:
            self.user_message = user_message


class ConfigError(PolicyQAError):
    user_message = "配置有误，请检查设置。"


class IngestError(PolicyQAError):
    user_message = "文件导入失败。"


class UnsupportedFile(IngestError):
    user_message = "不支持的文件类型。"


class EmptyDocument(IngestError):
    user_message = "文件中没有可用的文本。"


class StoreError(PolicyQAError):
    user_message = "知识库不可用，请重新构建知识库。"


class ToolError(PolicyQAError):
    user_message = "计算参数有误。"


class NotInKnowledgeBase(ToolError):
    user_message = "知识库中没有找到相关规划内容。"


class BadQuestion(PolicyQAError):
    user_message = "问题无法识别，请换一种说法。"
