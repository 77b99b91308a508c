"""Reading documents: file formats (TXT, DOCX, PDF, HTML), record files, folder scans."""
