#pragma once

#include <gmock/gmock.h>

#include "registry/client.h"
#include "registry/credentials.h"
#include "registry/http_transport.h"

namespace nixsnap::testing {

class MockHttpTransport : public registry::HttpTransport {
 public:
  MockHttpTransport();
  ~MockHttpTransport() override;
  MOCK_METHOD(Result<registry::HttpResponse>, perform, (const registry::HttpRequest& request),
              (override));
};

class MockCredentialSource : public registry::CredentialSource {
 public:
  MockCredentialSource();
  ~MockCredentialSource() override;
  MOCK_METHOD(Result<std::optional<registry::Credentials>>, lookup, (const std::string& host),
              (override));
};

class MockRegistryClient : public registry::RegistryClient {
 public:
  MockRegistryClient();
  ~MockRegistryClient() override;
  MOCK_METHOD(Result<bool>, hasBlob, (const registry::Reference& ref, const std::string& digest),
              (override));
  MOCK_METHOD(Status, uploadBlob,
              (const registry::Reference& ref, const std::string& digest, const fs::path& blob),
              (override));
  MOCK_METHOD(Status, putManifest,
              (const registry::Reference& ref, const std::string& media_type,
               const std::string& body),
              (override));
};

}  // namespace nixsnap::testing
