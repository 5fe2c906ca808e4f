#include "connectors/http_server.h"
