#include "registry/credentials.h"

#include <openssl/evp.h>

#include <map>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/process_failure.h"
#include "common/small_file.h"

namespace nixsnap::registry {
namespace {

using nlohmann::json;

constexpr int64_t kMaxAuthFileBytes = 1 << 20;

/// "https://host:5000/v1/" -> "host:5000".
std::string hostOfKey(std::string key) {
  for (const char* scheme : {"https://", "http://"}) {
    if (key.rfind(scheme, 0) == 0) {
      key.erase(0, std::string_view(scheme).size());
    }
  }
  return key.substr(0, key.find('/'));
}

/// Standard base64 with padding (RFC 4648 §4); nullopt for anything else.
std::optional<std::string> decodeBase64(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0) {
    return std::nullopt;
  }
  // '=' only as the last one or two characters: EVP_DecodeBlock accepts it elsewhere.
  const size_t first_pad = in.find('=');
  const size_t pad = first_pad == std::string::npos ? 0 : in.size() - first_pad;
  if (pad > 2 || (pad > 0 && in.find_first_not_of('=', first_pad) != std::string::npos)) {
    return std::nullopt;
  }
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) {
    return std::nullopt;
  }
  out.resize(out.size() - pad);  // EVP_DecodeBlock counts the bytes '=' stands for
  return out;
}

bool validHelperName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '.' || name.front() == '-') {
    return false;
  }
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string stringField(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class AuthFileSource : public CredentialSource {
 public:
  AuthFileSource(std::map<std::string, Credentials> auths,
                 std::map<std::string, std::string> helpers, std::string store,
                 ProcessRunnerPtr runner)
      : auths_(std::move(auths)),
        helpers_(std::move(helpers)),
        store_(std::move(store)),
        runner_(std::move(runner)) {}

  Result<std::optional<Credentials>> lookup(const std::string& host) override {
    for (const std::string& key : credentialKeys(host)) {
      auto found = lookupKey(key);
      if (!found.isOk() || found->has_value()) {
        return found;
      }
    }
    return std::optional<Credentials>();
  }

 private:
  /// What docker's config file holds for one key: its helper's answer when a helper is
  /// configured for it (credHelpers, else credsStore), its auths entry otherwise.
  Result<std::optional<Credentials>> lookupKey(const std::string& key) {
    const std::string host = hostOfKey(key);
    if (auto it = helpers_.find(host); it != helpers_.end()) {
      return runHelper(it->second, key);
    }
    if (!store_.empty()) {
      return runHelper(store_, key);
    }
    if (auto it = auths_.find(host); it != auths_.end()) {
      return std::optional<Credentials>(it->second);
    }
    return std::optional<Credentials>();
  }

  Result<std::optional<Credentials>> runHelper(const std::string& name, const std::string& host) {
    const std::string program = "docker-credential-" + name;
    ProcessOptions options;
    options.stdin_data = host;
    options.timeout = std::chrono::seconds(60);
    options.max_output_bytes = 1 << 20;
    auto run = runner_->run({program, "get"}, options);
    if (!run.isOk()) {
      return run.status().wrap("getting credentials for " + host + " from " + program);
    }
    if (run->exit_code != 0) {
      const std::string said = run->stdout_data + run->stderr_data;
      if (said.find("credentials not found") != std::string::npos) {
        return std::optional<Credentials>();
      }
      // Its first line, at most 200 bytes.
      ProcessResult shown = *run;
      shown.stderr_data = run->stderr_data.substr(0, run->stderr_data.find('\n'));
      return unavailable("getting credentials for " + host + ": " +
                         describeProcessFailure(program + " get", shown, 200));
    }
    auto parsed = parseJson(run->stdout_data, "credential helper answer");
    const json reply = parsed.isOk() ? std::move(*parsed) : json();
    if (!reply.is_object() || !reply.contains("Secret") || !reply["Secret"].is_string()) {
      return unavailable("getting credentials for " + host + " from " + program +
                         ": its answer is not {\"Username\", \"Secret\"}");
    }
    Credentials c;
    c.username = stringField(reply, "Username");
    c.secret = reply["Secret"].get<std::string>();
    c.identity_token = c.username == "<token>";
    return std::optional<Credentials>(std::move(c));
  }

  std::map<std::string, Credentials> auths_;
  std::map<std::string, std::string> helpers_;
  std::string store_;
  ProcessRunnerPtr runner_;
};

/// nullopt for an entry without credentials (docker writes `{}` next to a credsStore).
Result<std::optional<Credentials>> parseAuthEntry(const json& entry, const std::string& where) {
  if (!entry.is_object()) {
    return invalidArgument(where + ": not an object");
  }
  Credentials c;
  const std::string auth = stringField(entry, "auth");
  if (!auth.empty()) {
    auto decoded = decodeBase64(auth);
    const size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return invalidArgument(where + ": \"auth\" is not base64 of \"user:password\"");
    }
    c.username = decoded->substr(0, colon);
    c.secret = decoded->substr(colon + 1);
  } else {
    c.username = stringField(entry, "username");
    c.secret = stringField(entry, "password");
  }
  if (const std::string token = stringField(entry, "identitytoken"); !token.empty()) {
    c.secret = token;
    c.identity_token = true;
  }
  if (c.username.empty() && c.secret.empty()) {
    return std::optional<Credentials>();
  }
  return std::optional<Credentials>(std::move(c));
}

}  // namespace

std::vector<std::string> credentialKeys(const std::string& host) {
  if (host == "docker.io" || host == "registry-1.docker.io") {
    return {kDockerHubAuthKey, host};
  }
  return {host};
}

AuthFile chooseAuthFile(const std::string& flag,
                        const std::function<const char*(const char*)>& getenv) {
  if (!flag.empty()) {
    return {flag, true};
  }
  auto env = [&](const char* name) -> std::string {
    const char* v = getenv(name);
    return v != nullptr ? v : "";
  };
  if (const std::string f = env("REGISTRY_AUTH_FILE"); !f.empty()) {
    return {f, true};
  }
  if (const std::string d = env("DOCKER_CONFIG"); !d.empty()) {
    return {fs::path(d) / "config.json", false};
  }
  if (const std::string home = env("HOME"); !home.empty()) {
    return {fs::path(home) / ".docker" / "config.json", false};
  }
  return {};
}

Result<CredentialSourcePtr> loadAuthFile(const AuthFile& file, ProcessRunnerPtr runner) {
  std::map<std::string, Credentials> auths;
  std::map<std::string, std::string> helpers;
  std::string store;
  auto make = [&] {
    return CredentialSourcePtr(
        new AuthFileSource(std::move(auths), std::move(helpers), store, std::move(runner)));
  };
  if (file.path.empty()) {
    return make();
  }
  const std::string name = "auth file " + file.path.string();
  // Symlinks are followed: Kubernetes secret volumes and home-manager make them.
  auto text = readSmallFile(file.path, kMaxAuthFileBytes, /*follow_symlinks=*/true);
  if (!text.isOk()) {
    if (text.status().code() == ErrorCode::NotFound && !file.required) {
      return make();  // no default file: anonymous
    }
    return text.status().wrap("reading " + name);
  }
  auto parsed = parseJson(*text, name);
  if (!parsed.isOk()) {
    return parsed.status();
  }
  const json& doc = *parsed;
  if (!doc.is_object()) {
    return invalidArgument(name + ": not a JSON object");
  }
  if (auto it = doc.find("auths"); it != doc.end() && it->is_object()) {
    for (const auto& [key, entry] : it->items()) {
      auto c = parseAuthEntry(entry, name + ": auths[\"" + key.substr(0, 256) + "\"]");
      if (!c.isOk()) {
        return c.status();
      }
      if (c->has_value()) {
        auths[hostOfKey(key)] = std::move(**c);
      }
    }
  }
  auto checkHelper = [&](const std::string& helper, const std::string& where) -> Status {
    if (!validHelperName(helper)) {
      return invalidArgument(name + ": " + where + " \"" + helper.substr(0, 64) +
                             "\" is not a credential helper name ([A-Za-z0-9._-])");
    }
    return Status::ok();
  };
  if (auto it = doc.find("credHelpers"); it != doc.end() && it->is_object()) {
    for (const auto& [key, helper] : it->items()) {
      const std::string h = helper.is_string() ? helper.get<std::string>() : "";
      NIXSNAP_RETURN_IF_ERROR(checkHelper(h, "credHelpers[\"" + key.substr(0, 256) + "\"]"));
      helpers[hostOfKey(key)] = h;
    }
  }
  store = stringField(doc, "credsStore");
  if (!store.empty()) {
    NIXSNAP_RETURN_IF_ERROR(checkHelper(store, "credsStore"));
  }
  return make();
}

}  // namespace nixsnap::registry
